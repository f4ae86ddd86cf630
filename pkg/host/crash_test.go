package host

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A config file that is a symlink is edited through: the link stays, its
// target changes, and rollback puts the target's content back.
func TestWriteThroughLinkKeepsTheLink(t *testing.T) {
	h := newHost(t)
	os.MkdirAll(h.Path("/opt/f-stack"), 0o755)
	os.MkdirAll(h.Path("/etc"), 0o755)
	os.WriteFile(h.Path("/opt/f-stack/config.ini"), []byte("old\n"), 0o640)
	os.Symlink("/opt/f-stack/config.ini", h.Path("/etc/f-stack.conf"))
	tx := h.Begin("", "test")
	if _, err := tx.WriteFile("/etc/f-stack.conf", []byte("new\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if l, err := os.Readlink(h.Path("/etc/f-stack.conf")); err != nil || l != "/opt/f-stack/config.ini" {
		t.Fatalf("the link became %q (%v)", l, err)
	}
	if b, _ := os.ReadFile(h.Path("/opt/f-stack/config.ini")); string(b) != "new\n" {
		t.Fatalf("target holds %q", b)
	}
	if _, err := h.Rollback(tx.ID()); err != nil {
		t.Fatal(err)
	}
	if l, _ := os.Readlink(h.Path("/etc/f-stack.conf")); l != "/opt/f-stack/config.ini" {
		t.Errorf("after rollback the link is %q", l)
	}
	st, _ := os.Stat(h.Path("/opt/f-stack/config.ini"))
	if b, _ := os.ReadFile(h.Path("/opt/f-stack/config.ini")); string(b) != "old\n" || st.Mode().Perm() != 0o640 {
		t.Errorf("after rollback the target holds %q mode %v", b, st.Mode())
	}
}

// A removed link comes back as a link; a link a command made goes away.
func TestRollbackPutsLinksBack(t *testing.T) {
	h := newHost(t)
	os.MkdirAll(h.Path("/etc/systemd/system"), 0o755)
	os.Symlink("../x.service", h.Path("/etc/systemd/system/old.link"))
	tx := h.Begin("", "test")
	if _, err := tx.Remove("/etc/systemd/system/old.link"); err != nil {
		t.Fatal(err)
	}
	wants := "/etc/systemd/system/multi-user.target.wants/y.service"
	if err := tx.KeepLink(wants); err != nil {
		t.Fatal(err)
	}
	if err := tx.Command([]string{"systemctl", "enable", "y.service"}, []string{"systemctl", "disable", "y.service"}, false); err != nil {
		t.Fatal(err)
	}
	// What systemctl enable does: the folder, then the link.
	os.MkdirAll(h.Path("/etc/systemd/system/multi-user.target.wants"), 0o755)
	os.Symlink("/etc/systemd/system/y.service", h.Path(wants))
	var ran []string
	res, err := h.RollbackWith(context.Background(), tx.ID(), RollbackOptions{Run: func(_ context.Context, argv ...string) error {
		ran = append(ran, strings.Join(argv, " "))
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if l, err := os.Readlink(h.Path("/etc/systemd/system/old.link")); err != nil || l != "../x.service" {
		t.Errorf("old.link is %q (%v)", l, err)
	}
	if _, err := os.Lstat(h.Path(wants)); !os.IsNotExist(err) {
		t.Errorf("the .wants link is still there (%v)", err)
	}
	if _, err := os.Lstat(h.Path("/etc/systemd/system/multi-user.target.wants")); !os.IsNotExist(err) {
		t.Errorf("the .wants folder systemctl made is still there (%v)", err)
	}
	if strings.Join(ran, ";") != "systemctl disable y.service" || len(res.NotDone) != 0 {
		t.Errorf("ran %q, not done %q", ran, res.NotDone)
	}
}

// A sysfs attribute that is a link out of the root is never written on this
// machine: the write resolves inside the root and fails, saying where the
// link led.
func TestSysfsWriteStaysInTheRoot(t *testing.T) {
	h := newHost(t)
	outside := filepath.Join(t.TempDir(), "nr_hugepages")
	os.WriteFile(outside, []byte("0\n"), 0o644)
	dir := h.Path("/sys/kernel/mm/hugepages/hugepages-2048kB")
	os.MkdirAll(dir, 0o755)
	os.Symlink(outside, filepath.Join(dir, "nr_hugepages"))
	_, err := h.WriteSysfs(context.Background(), "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "64", 0)
	if err == nil || !strings.Contains(err.Error(), "--root is a boundary") {
		t.Errorf("err = %v", err)
	}
	if b, _ := os.ReadFile(outside); string(b) != "0\n" {
		t.Errorf("the file outside the root was written: %q", b)
	}
	// A folder link out of the root is no way out for a file write either.
	os.Symlink(filepath.Dir(outside), h.Path("/etc"))
	if _, err := h.Begin("", "").WriteFile("/etc/nr_hugepages", []byte("9\n"), 0o644); err == nil {
		if b, _ := os.ReadFile(outside); string(b) != "0\n" {
			t.Errorf("a write through /etc reached the machine: %q", b)
		}
	}
}

// An interrupted change set: every change is in the manifest before it
// happens, and Sweep removes the temporary files a kill leaves.
func TestManifestComesFirstAndSweepRemovesDebris(t *testing.T) {
	h := newHost(t)
	os.MkdirAll(h.Path("/etc/default"), 0o755)
	os.WriteFile(h.Path("/etc/default/grub"), []byte("old\n"), 0o644)
	stop := errors.New("injected")
	for n := 1; ; n++ {
		count := 0
		h.SetWriteHook(func(op, p string) error {
			count++
			if count == n {
				return stop
			}
			if strings.Contains(p, "/backups/") && !strings.Contains(p, "manifest.json") && op == "create" && !strings.HasSuffix(filepath.Dir(p), "backups") {
				if _, err := os.Stat(h.Path(BackupsDir + "/t/manifest.json")); err != nil && strings.Contains(p, "/files/") {
					t.Errorf("write %d: backup copy %s before the manifest", n, p)
				}
			}
			return nil
		})
		_, err := h.Begin("t", "").WriteFile("/etc/default/grub", []byte("new\n"), 0o644)
		h.SetWriteHook(nil)
		if err == nil {
			if n < 3 {
				t.Fatalf("only %d writes", n)
			}
			break
		}
		if _, err := h.Sweep(); err != nil {
			t.Fatal(err)
		}
		filepath.Walk(h.Root(), func(p string, fi os.FileInfo, err error) error {
			if err == nil && IsTempName(fi.Name()) {
				t.Errorf("write %d: %s left after Sweep", n, p)
			}
			return nil
		})
		if _, err := h.Backups(); err != nil {
			t.Errorf("write %d: %v", n, err)
		}
		if _, err := h.Rollback("t"); err != nil && !errors.Is(err, ErrNoBackup) {
			t.Errorf("write %d: rollback: %v", n, err)
		}
		if b, _ := h.ReadFile("/etc/default/grub"); string(b) != "old\n" {
			t.Errorf("write %d: after rollback %q", n, b)
		}
		os.RemoveAll(h.Path(StateDir))
	}
}

// Glob lists folders inside the root: a folder link out of it lists
// nothing of this machine's.
func TestGlobStaysInTheRoot(t *testing.T) {
	h := newHost(t)
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "address"), []byte("00:11:22:33:44:55\n"), 0o644)
	os.MkdirAll(h.Path("/sys/class/net"), 0o755)
	os.Symlink(outside, h.Path("/sys/class/net/eth0"))
	if m, err := h.Glob("/sys/class/net/*/address"); err != nil || len(m) != 0 {
		t.Errorf("Glob through a link out of the root: %q %v", m, err)
	}
	// A link inside the root is followed, the names kept as asked.
	os.Remove(h.Path("/sys/class/net/eth0"))
	os.MkdirAll(h.Path("/sys/devices/pci0000:00/0000:03:00.0/net/eth0"), 0o755)
	os.WriteFile(h.Path("/sys/devices/pci0000:00/0000:03:00.0/net/eth0/address"), []byte("00:11:22:33:44:55\n"), 0o644)
	os.Symlink("/sys/devices/pci0000:00/0000:03:00.0/net/eth0", h.Path("/sys/class/net/eth0"))
	m, err := h.Glob("/sys/class/net/*/address")
	if err != nil || len(m) != 1 || m[0] != "/sys/class/net/eth0/address" {
		t.Errorf("Glob inside the root: %q %v", m, err)
	}
}

// A backup folder an older photonctl left without its manifest (it copied
// the file first) gets a manifest back: listed, and rollback restores it.
func TestSweepRecoversAManifestlessBackup(t *testing.T) {
	h := newHost(t)
	os.MkdirAll(h.Path("/etc/default"), 0o755)
	os.WriteFile(h.Path("/etc/default/grub"), []byte("new\n"), 0o644)
	dir := h.Path(BackupsDir + "/20261201T000000.000000Z/files/etc/default")
	os.MkdirAll(dir, 0o700)
	os.WriteFile(filepath.Join(dir, "grub"), []byte("old\n"), 0o640)
	os.WriteFile(filepath.Join(dir, ".grub.photonctl-123"), []byte("ol"), 0o600)
	if _, err := h.Sweep(); err != nil {
		t.Fatal(err)
	}
	ms, err := h.Backups()
	if err != nil || len(ms) != 1 || len(ms[0].Entries) != 1 || ms[0].Entries[0].Path != "/etc/default/grub" {
		t.Fatalf("backups after sweep: %+v %v", ms, err)
	}
	if _, err := h.Rollback(ms[0].ID); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(h.Path("/etc/default/grub"))
	if b, _ := h.ReadFile("/etc/default/grub"); string(b) != "old\n" || st.Mode().Perm() != 0o640 {
		t.Errorf("after rollback: %q %v", b, st.Mode())
	}
	if _, err := os.Stat(filepath.Join(dir, ".grub.photonctl-123")); !os.IsNotExist(err) {
		t.Errorf("the temporary copy is still there: %v", err)
	}
}
