package grub

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/runner/runnertest"
)

// runSetup runs the grub step through the engine, as photonctl setup does.
func runSetup(t *testing.T, h *host.Host, f *runnertest.Fake) (*engine.Report, error) {
	env := newEnv(h, f, nil)
	steps := []engine.Step{NewStep()}
	return engine.Run(context.Background(), env, steps, steps, engine.Options{Who: "test"})
}

// assertUntouched checks that a failed run left every file as it was and
// made no backup.
func assertUntouched(t *testing.T, h *host.Host, before map[string]fileStat) {
	t.Helper()
	after := snapshot(t, h)
	for p, st := range before {
		if after[p] != st {
			t.Errorf("%s changed", p)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s appeared", p)
		}
	}
	if _, err := os.Stat(h.Path(host.BackupsDir)); err == nil {
		t.Errorf("a backup folder was made")
	}
}

func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		prep func(t *testing.T, h *host.Host)
		want []string
		is   error
	}{
		{"unterminated quote", func(t *testing.T, h *host.Host) {
			replaceIn(t, h, DefaultGrub, `GRUB_DISABLE_RECOVERY="true"`, `GRUB_DISABLE_RECOVERY="true`)
		}, []string{"/etc/default/grub:7:", `unterminated " quote`}, ErrSyntax},
		{"command substitution in the edited assignment", func(t *testing.T, h *host.Host) {
			replaceIn(t, h, DefaultGrub, `rhgb quiet"`, `rhgb quiet $(cat /etc/extra-args)"`)
		}, []string{"/etc/default/grub:6:", "$(cat /etc/extra-args)", "by hand"}, ErrCannotEdit},
		{"missing /etc/default/grub", func(t *testing.T, h *host.Host) {
			os.Remove(h.Path(DefaultGrub))
		}, []string{"has no /etc/default/grub", "restore it"}, ErrUnsupported},
		{"bad --iommu-args is caught before anything", func(t *testing.T, h *host.Host) {
			writeFile(t, h, ProcCPUInfo, "processor : 0\nCPU implementer : 0x41\n")
		}, []string{"names no Intel or AMD CPU", "--iommu-args"}, engine.ErrBadInput},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := fixture.Host(t, "grub-centos7")
			tc.prep(t, h)
			before := snapshot(t, h)
			_, err := runSetup(t, h, runnertest.New(t))
			if err == nil || !engine.IsBadInput(err) || !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want bad input matching %v", err, tc.is)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			// The lock file is photonctl's own; everything else is as it was.
			delete(before, "/var/lib/photonctl/setup.lock")
			os.Remove(h.Path("/var/lib/photonctl/setup.lock"))
			assertUntouched(t, h, before)
		})
	}
}

// setImmutable sets or clears chattr +i on a file.
func setImmutable(p string, on bool) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	var attr int
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, f.Fd(), unix.FS_IOC_GETFLAGS, uintptr(unsafe.Pointer(&attr))); e != 0 {
		return e
	}
	if on {
		attr |= fsImmutableFL
	} else {
		attr &^= fsImmutableFL
	}
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, f.Fd(), unix.FS_IOC_SETFLAGS, uintptr(unsafe.Pointer(&attr))); e != 0 {
		return e
	}
	return nil
}

func TestReadOnlyFile(t *testing.T) {
	h := fixture.Host(t, "grub-centos7")
	p := h.Path(DefaultGrub)
	if os.Geteuid() == 0 {
		// Root writes through file modes; an immutable file stops it.
		if err := setImmutable(p, true); err != nil {
			t.Skipf("needs chattr +i on the test's temp folder (as root, file modes do not stop writes): %v", err)
		}
		t.Cleanup(func() { setImmutable(p, false) })
	} else {
		os.Chmod(p, 0o444)
		os.Chmod(h.Path("/etc/default"), 0o555)
		t.Cleanup(func() { os.Chmod(h.Path("/etc/default"), 0o755) })
	}
	before := snapshot(t, h)
	_, err := runSetup(t, h, runnertest.New(t))
	if !engine.IsBadInput(err) || !strings.Contains(err.Error(), "/etc/default/grub cannot be written") {
		t.Fatalf("err = %v", err)
	}
	delete(before, "/var/lib/photonctl/setup.lock")
	os.Remove(h.Path("/var/lib/photonctl/setup.lock"))
	assertUntouched(t, h, before)
}

func TestUnsupported(t *testing.T) {
	h := fixture.Host(t, "grub-debian12")
	writeFile(t, h, OSRelease, "ID=arch\nPRETTY_NAME=\"Arch Linux\"\n")
	os.Remove(h.Path(DefaultGrub))
	os.MkdirAll(h.Path("/boot/loader/entries"), 0o755)
	_, err := NewStep().Check(context.Background(), newEnv(h, runnertest.New(t), nil))
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "found Arch Linux with systemd-boot") {
		t.Fatalf("err = %v", err)
	}
}

const fsImmutableFL = 0x10 // FS_IMMUTABLE_FL, linux/fs.h
