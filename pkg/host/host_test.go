package host

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func newHost(t *testing.T) *Host {
	h, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestPathStaysUnderRoot(t *testing.T) {
	h := newHost(t)
	for _, p := range []string{"/etc/../../../etc/passwd", "../../etc", "/sys/class/net"} {
		if got := h.Path(p); !strings.HasPrefix(got, h.Root()+"/") {
			t.Errorf("Path(%q) = %q escapes the root %q", p, got, h.Root())
		}
	}
	if h.Rel(h.Path("/etc/default/grub")) != "/etc/default/grub" {
		t.Error("Rel does not undo Path")
	}
}

func TestNewRefusesMissingRoot(t *testing.T) {
	_, err := New(filepath.Join(t.TempDir(), "nope"))
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("err = %v", err)
	}
}

func TestTxnReplacesAtomicallyKeepsModeAndBacksUp(t *testing.T) {
	h := newHost(t)
	p := h.Path("/etc/default/grub")
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.WriteFile(p, []byte("old\n"), 0o600)
	os.Chmod(p, 0o600)
	tx := h.Begin("t1", "test")
	changed, err := tx.WriteFile("/etc/default/grub", []byte("new\n"), 0o644)
	if err != nil || !changed {
		t.Fatalf("changed=%v err=%v", changed, err)
	}
	st, _ := os.Stat(p)
	if b, _ := os.ReadFile(p); string(b) != "new\n" || st.Mode().Perm() != 0o600 {
		t.Errorf("content %q mode %v", b, st.Mode())
	}
	if b, _ := os.ReadFile(h.Path(BackupsDir, "t1", "files", "etc/default/grub")); string(b) != "old\n" {
		t.Errorf("backup %q", b)
	}
	// No temp files left beside the target.
	ents, _ := os.ReadDir(filepath.Dir(p))
	if len(ents) != 1 {
		t.Errorf("folder holds %d entries, want just grub", len(ents))
	}
	// A second write of the same content is no change and keeps the inode.
	st1, _ := os.Stat(p)
	changed, err = h.Begin("t2", "").WriteFile("/etc/default/grub", []byte("new\n"), 0o644)
	st2, _ := os.Stat(p)
	if changed || err != nil || st1.Sys().(*syscall.Stat_t).Ino != st2.Sys().(*syscall.Stat_t).Ino {
		t.Errorf("no-op write rewrote the file (changed=%v err=%v)", changed, err)
	}
	if h.Exists(BackupsDir + "/t2") {
		t.Error("a change set that changed nothing left a backup folder")
	}
}

func TestRollbackRestoresAndRemovesCreated(t *testing.T) {
	h := newHost(t)
	os.MkdirAll(h.Path("/etc"), 0o755)
	os.WriteFile(h.Path("/etc/a"), []byte("a0"), 0o640)
	os.Chmod(h.Path("/etc/a"), 0o640)
	tx := h.Begin("", "setup")
	tx.WriteFile("/etc/a", []byte("a1"), 0o644)
	tx.WriteFile("/etc/a", []byte("a2"), 0o644) // the backup keeps the first content
	tx.WriteFile("/etc/sysctl.d/new.conf", []byte("x"), 0o644)
	ms, err := h.Backups()
	if err != nil || len(ms) != 1 || len(ms[0].Entries) != 3 || ms[0].Entries[1].Kind != KindDir {
		t.Fatalf("backups %+v %v", ms, err)
	}
	rb, err := h.Rollback(tx.ID())
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(h.Path("/etc/a"))
	if b, _ := h.ReadFile("/etc/a"); string(b) != "a0" || st.Mode().Perm() != 0o640 {
		t.Errorf("a = %q mode %v", b, st.Mode())
	}
	if h.Exists("/etc/sysctl.d/new.conf") || h.Exists("/etc/sysctl.d") {
		t.Error("a file or folder the change set created is still there")
	}
	// The rollback can itself be rolled back.
	if _, err := h.Rollback(rb.ID()); err != nil {
		t.Fatal(err)
	}
	if b, _ := h.ReadFile("/etc/a"); string(b) != "a2" {
		t.Errorf("undoing the rollback: a = %q", b)
	}
}

func TestRollbackUnknownID(t *testing.T) {
	h := newHost(t)
	for _, id := range []string{"nope", "../../etc", ""} {
		if _, err := h.Rollback(id); !errors.Is(err, ErrNoBackup) {
			t.Errorf("Rollback(%q) = %v, want ErrNoBackup", id, err)
		}
	}
}

func TestWriteSysfsCarriesValueInError(t *testing.T) {
	h := newHost(t)
	_, err := h.WriteSysfs(context.Background(), "/sys/class/net/eth0/device/sriov_numvfs", "4", time.Second)
	var se *SysfsError
	if !errors.As(err, &se) || !errors.Is(err, syscall.ENOENT) ||
		err.Error() != `writing "4" to /sys/class/net/eth0/device/sriov_numvfs: no such file or directory` {
		t.Errorf("err = %v", err)
	}
}

func TestWriteSysfsReadsBack(t *testing.T) {
	h := newHost(t)
	os.MkdirAll(h.Path("/sys/x"), 0o755)
	os.WriteFile(h.Path("/sys/x/nr"), []byte("0\n"), 0o644)
	got, err := h.WriteSysfs(context.Background(), "/sys/x/nr", "12", time.Second)
	if err != nil || got != "12" {
		t.Errorf("got %q %v", got, err)
	}
}

// A FIFO with no reader blocks open(O_WRONLY) for ever, as a wedged driver
// blocks a sysfs write: the bound must end the wait.
func TestWriteSysfsIsBoundedInTime(t *testing.T) {
	h := newHost(t)
	os.MkdirAll(h.Path("/sys/x"), 0o755)
	fifo := h.Path("/sys/x/sriov_numvfs")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("needs mkfifo: " + err.Error())
	}
	t.Cleanup(func() {
		// Unblock the writer left behind.
		if f, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	_, err := h.WriteSysfs(context.Background(), "/sys/x/sriov_numvfs", "4", 50*time.Millisecond)
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), `writing "4" to /sys/x/sriov_numvfs`) {
		t.Errorf("err = %v, want a timeout naming the value", err)
	}
}

// Links in a root resolve inside the root, as on the host itself: never at
// this machine's own files.
func TestAbsoluteLinksStayInTheRoot(t *testing.T) {
	h := newHost(t)
	os.MkdirAll(h.Path("/run/dpdk"), 0o755)
	os.MkdirAll(h.Path("/var"), 0o755)
	os.Symlink("/run", h.Root()+"/var/run")
	os.WriteFile(h.Root()+"/run/dpdk/x", []byte("in the root"), 0o644)
	os.MkdirAll(h.Root()+"/usr/local/lib", 0o755)
	os.WriteFile(h.Root()+"/usr/local/lib/libfstack.a.1.24", []byte("lib in the root"), 0o644)
	os.Symlink("/usr/local/lib/libfstack.a.1.24", h.Root()+"/usr/local/lib/libfstack.a")
	os.Symlink("/etc/hostname", h.Root()+"/usr/local/lib/machine") // absent in the root
	os.Symlink("../../../../../../etc/hostname", h.Root()+"/usr/local/lib/up")
	os.Symlink("loop", h.Root()+"/usr/local/lib/loop")

	if b, err := h.ReadFile("/var/run/dpdk/x"); err != nil || string(b) != "in the root" {
		t.Errorf("through an absolute folder link: %q %v", b, err)
	}
	if b, err := h.ReadFile("/usr/local/lib/libfstack.a"); err != nil || string(b) != "lib in the root" {
		t.Errorf("through an absolute last link: %q %v", b, err)
	}
	if l, err := h.ReadLink("/usr/local/lib/libfstack.a"); err != nil || l != "/usr/local/lib/libfstack.a.1.24" {
		t.Errorf("ReadLink sees %q %v, want the link itself", l, err)
	}
	for _, p := range []string{"/usr/local/lib/machine", "/usr/local/lib/up"} {
		if b, err := h.ReadFile(p); err == nil {
			t.Errorf("%s read %q: a link left the root", p, b)
		}
	}
	if h.Exists("/usr/local/lib/loop") {
		t.Error("a link loop exists")
	}
	// Removing a link removes the link, not what it points at.
	if _, err := h.Begin("", "").Remove("/usr/local/lib/libfstack.a"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(h.Root() + "/usr/local/lib/libfstack.a"); err == nil {
		t.Error("the link is still there")
	}
	if _, err := os.Stat(h.Root() + "/usr/local/lib/libfstack.a.1.24"); err != nil {
		t.Errorf("removing the link removed its target: %v", err)
	}
}

// A folder that did not exist when first asked for is resolved again once it
// does: only complete resolutions are remembered.
func TestMissingFolderIsNotRemembered(t *testing.T) {
	h := newHost(t)
	if p := h.Path("/var/run/x"); p != h.Root()+"/var/run/x" {
		t.Fatalf("Path = %s", p)
	}
	os.MkdirAll(h.Root()+"/run", 0o755)
	os.MkdirAll(h.Root()+"/var", 0o755)
	os.Symlink("/run", h.Root()+"/var/run")
	if p := h.Path("/var/run/x"); p != h.Root()+"/run/x" {
		t.Errorf("after the link appeared: Path = %s, want it under /run", p)
	}
}

// drivers_probe on this machine's real sysfs, with the address of a PCI
// device that already has a driver: the kernel does nothing for it (a bound
// device is not probed again) and the write succeeds, but the attribute is a
// write-only trigger: reading it fails even for root. WriteSysfs must not
// read it back.
func TestWriteSysfsNeverReadsBackATrigger(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to write /sys/bus/pci/drivers_probe")
	}
	links, _ := filepath.Glob("/sys/bus/pci/devices/*/driver")
	if len(links) == 0 {
		t.Skip("needs a PCI device bound to a driver in /sys/bus/pci/devices")
	}
	if _, err := os.ReadFile("/sys/bus/pci/drivers_probe"); !errors.Is(err, os.ErrPermission) {
		t.Fatalf("reading drivers_probe: %v, want permission denied (the kernel's write-only trigger)", err)
	}
	addr := filepath.Base(filepath.Dir(links[0]))
	h, err := New("/")
	if err != nil {
		t.Fatal(err)
	}
	got, err := h.WriteSysfs(context.Background(), "/sys/bus/pci/drivers_probe", addr, 5*time.Second)
	if errors.Is(err, syscall.EROFS) {
		t.Skip("needs a writable /sys: " + err.Error())
	}
	if err != nil || got != "" {
		t.Fatalf("WriteSysfs(drivers_probe, %s) = %q, %v; want no read back", addr, got, err)
	}
	if _, err := os.Readlink(links[0]); err != nil {
		t.Errorf("%s lost its driver: %v", addr, err)
	}
	for _, p := range []string{"/sys/bus/pci/drivers/igbvf/unbind", "/x/bind", "/x/new_id", "/x/remove_id", "/sys/bus/pci/drivers_probe"} {
		if !WriteOnly(p) {
			t.Errorf("WriteOnly(%s) = false", p)
		}
	}
	for _, p := range []string{"/x/driver_override", "/x/sriov_numvfs", "/x/nr_hugepages"} {
		if WriteOnly(p) {
			t.Errorf("WriteOnly(%s) = true", p)
		}
	}
}
