package engine

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/photonctl/photonctl/pkg/host"
)

// LockPath is the lock two setup runs (and rollback) on one host take.
const LockPath = host.StateDir + "/setup.lock"

// ErrLocked is returned when another setup holds the lock.
var ErrLocked = errors.New("another photonctl setup is running on this host")

// Lock is a held setup lock.
type Lock struct{ f *os.File }

// holderWait bounds how long a refused run waits for the holder's record:
// the holder writes it right after taking the lock.
const holderWait = time.Second

// Acquire takes the host's setup lock without waiting. The lock file says who
// holds it (pid, command, start time), so the error can name them; in the
// moment between another run taking the lock and writing that record, the
// holder is found in /proc/locks instead.
func Acquire(h *host.Host, who string) (*Lock, error) {
	f, err := h.OpenLock(LockPath)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", LockPath, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (%s holds %s); wait for it to finish", ErrLocked, holder(f), LockPath)
		}
		return nil, fmt.Errorf("locking %s: %w", LockPath, err)
	}
	// One write of the whole record, then the length: a reader sees the
	// old record or the new one, never half of it.
	rec := []byte(fmt.Sprintf("pid %d, %s, since %s\n", os.Getpid(), who, time.Now().UTC().Format(time.RFC3339)))
	if _, err := f.WriteAt(rec, 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing %s: %w", LockPath, err)
	}
	f.Truncate(int64(len(rec)))
	return &Lock{f: f}, nil
}

// holder names the process holding the lock on f: its record once it names
// the process /proc/locks says holds the lock, else what /proc says of it.
func holder(f *os.File) string {
	deadline := time.Now().Add(holderWait)
	for {
		pid := lockPID(f)
		b := make([]byte, 4096)
		n, _ := f.ReadAt(b, 0)
		rec := string(b[:n])
		if strings.HasSuffix(rec, "\n") && (pid == 0 || strings.HasPrefix(rec, fmt.Sprintf("pid %d,", pid))) {
			return strings.TrimSpace(rec)
		}
		if time.Now().After(deadline) {
			if pid != 0 {
				return describePID(pid)
			}
			if rec = strings.TrimSpace(rec); rec != "" {
				return rec
			}
			return "a process this one cannot see (another PID namespace?)"
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lockPID finds the process holding a flock on f in /proc/locks; 0 when it
// is not there.
func lockPID(f *os.File) int {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return 0
	}
	want := fmt.Sprintf("%02x:%02x:%d", unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
	b, err := os.ReadFile("/proc/locks")
	if err != nil {
		return 0
	}
	return parseLocks(b, want)
}

// parseLocks finds the pid of the FLOCK on dev:ino want in /proc/locks.
func parseLocks(b []byte, want string) int {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		// 1: FLOCK  ADVISORY  WRITE 12345 00:2d:1234567 0 EOF
		if len(f) < 6 || f[1] != "FLOCK" {
			continue
		}
		if f[5] == want {
			if pid, err := strconv.Atoi(f[4]); err == nil {
				return pid
			}
		}
	}
	return 0
}

// describePID says what /proc knows of a process: pid, command, start time.
func describePID(pid int) string {
	cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	c := strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " "))
	if c == "" {
		c = "(command unknown)"
	}
	since := ""
	if t, ok := startTime(pid); ok {
		since = ", since " + t.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("pid %d, %s%s", pid, c, since)
}

// Release lets go of the lock.
func (l *Lock) Release() {
	if l == nil || l.f == nil {
		return
	}
	l.f.Truncate(0)
	unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
	l.f.Close()
	l.f = nil
}

// startTime is when process pid started: field 22 of /proc/PID/stat, in
// clock ticks (100 a second on Linux) after the boot time of /proc/stat.
func startTime(pid int) (time.Time, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return time.Time{}, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return time.Time{}, false
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): starttime, field 22, is f[19].
	if len(f) < 20 {
		return time.Time{}, false
	}
	ticks, err := strconv.ParseInt(f[19], 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	st, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Time{}, false
	}
	for _, l := range strings.Split(string(st), "\n") {
		if v, ok := strings.CutPrefix(l, "btime "); ok {
			bt, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return time.Time{}, false
			}
			return time.Unix(bt, 0).Add(time.Duration(ticks) * 10 * time.Millisecond), true
		}
	}
	return time.Time{}, false
}
