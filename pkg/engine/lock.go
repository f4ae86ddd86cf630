package engine

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/photonctl/photonctl/pkg/host"
)

// LockPath is the lock two setup runs on one host take.
const LockPath = host.StateDir + "/setup.lock"

// ErrLocked is returned when another setup holds the lock.
var ErrLocked = errors.New("another photonctl setup is running on this host")

// Lock is a held setup lock.
type Lock struct{ f *os.File }

// Acquire takes the host's setup lock without waiting. The lock file says who
// holds it, so the error can name them.
func Acquire(h *host.Host, who string) (*Lock, error) {
	p := h.Path(LockPath)
	if err := os.MkdirAll(h.Path(host.StateDir), 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", host.StateDir, err)
	}
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", LockPath, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(p)
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (%s holds %s); wait for it to finish", ErrLocked, strings.TrimSpace(string(holder)), LockPath)
		}
		return nil, fmt.Errorf("locking %s: %w", LockPath, err)
	}
	f.Truncate(0)
	fmt.Fprintf(f, "pid %d, %s, since %s\n", os.Getpid(), who, time.Now().UTC().Format(time.RFC3339))
	f.Sync()
	return &Lock{f: f}, nil
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
