package dpdkenv

import (
	"context"
	"os"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/photonctl/photonctl/pkg/doctor"
	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/golden"
)

// asNonRoot runs fn so that file permissions apply to it. A normal user
// needs nothing; root drops CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from
// the effective set of the one OS thread fn runs on (capabilities are per
// thread), and raises them again after. fn must not start goroutines.
func asNonRoot(t *testing.T, fn func()) {
	t.Helper()
	if os.Geteuid() != 0 {
		fn()
		return
	}
	runtime.LockOSThread()
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var saved [2]unix.CapUserData
	if err := unix.Capget(&hdr, &saved[0]); err != nil {
		runtime.UnlockOSThread()
		t.Skipf("needs capget to drop root's file access for the test: %v", err)
	}
	dropped := saved
	drop := uint32(1<<unix.CAP_DAC_OVERRIDE | 1<<unix.CAP_DAC_READ_SEARCH)
	dropped[0].Effective &^= drop
	if err := unix.Capset(&hdr, &dropped[0]); err != nil {
		runtime.UnlockOSThread()
		t.Skipf("needs capset to drop root's file access for the test: %v", err)
	}
	restored := false
	defer func() {
		if err := unix.Capset(&hdr, &saved[0]); err == nil {
			restored = true
		}
		// A thread whose capabilities could not be restored stays locked
		// and ends with the goroutine.
		if restored {
			runtime.UnlockOSThread()
		} else {
			t.Error("could not raise the capabilities again; the test thread is discarded")
		}
	}()
	if _, err := os.ReadFile("/proc/self/status"); err != nil {
		t.Fatal(err)
	}
	fn()
}

// TestNotRoot: files only root may read make their checks skip with that
// reason; the other checks still run, and nothing crashes.
func TestNotRoot(t *testing.T) {
	h := fixture.Host(t, "dpdkenv-healthy", "dpdkenv-stale-files")
	writeHostFile(t, h, ffPath+"/lib/libfstack.a", fakeLibfstack(true))
	for _, p := range []string{"/etc/f-stack.conf", ffPath + "/lib/libfstack.a", "/run/dpdk"} {
		if err := os.Chmod(h.Path(p), 0); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(h.Path(p), 0o755) }) // so that TempDir can be removed
	}
	// A check that reads it anyway must fail here, whoever runs the test.
	var probe error
	asNonRoot(t, func() { _, probe = os.ReadFile(h.Path("/etc/f-stack.conf")) })
	if probe == nil {
		t.Skip("needs a way to make a file unreadable: the chmod 000 file is still readable")
	}
	var got []doctor.Result
	f := healthyPC.fake(t)
	asNonRoot(t, func() { got = runChecks(t, h, f) })

	wantSkip := map[string]string{
		IDLibfstack:  "not root: cannot read /root/f-stack-1.22/lib/libfstack.a (permission denied)",
		IDStaleFiles: "not root: cannot read /run/dpdk (permission denied)",
		IDLcores:     "not root: cannot read /etc/f-stack.conf (permission denied)",
	}
	for _, r := range got {
		if w, ok := wantSkip[r.ID]; ok {
			if r.Status != doctor.Skip || !strings.HasPrefix(r.Detail, w) {
				t.Errorf("%s = %s %q, want skip %q", r.ID, r.Status, r.Detail, w)
			}
			delete(wantSkip, r.ID)
			continue
		}
		if r.Status != doctor.OK {
			t.Errorf("%s = %s %q, want ok", r.ID, r.Status, r.Detail)
		}
	}
	for id := range wantSkip {
		t.Errorf("no result %s", id)
	}
	golden.Assert(t, "testdata/not-root.golden", render(got))
}

// TestNotRootProcFd: stale-looking files whose holders cannot be seen (the
// /proc/PID/fd of another user) are a skip, not a warning to delete them.
func TestNotRootProcFd(t *testing.T) {
	h := fixture.Host(t, "dpdkenv-healthy", "dpdkenv-stale-files")
	fd := h.Path("/proc/812/fd")
	if err := os.Chmod(fd, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(fd, 0o755) })
	var got []doctor.Result
	asNonRoot(t, func() {
		if _, err := os.ReadDir(fd); err == nil {
			t.Skip("needs a way to make a folder unreadable: the chmod 000 folder is still readable")
		}
		got = checkStale(context.Background(), &engine.Env{Host: h})
	})
	if len(got) != 1 || got[0].Status != doctor.Skip || !strings.Contains(got[0].Detail, "cannot read /proc/PID/fd of 1 process(es)") {
		t.Errorf("got %+v, want a skip naming /proc/PID/fd", got)
	}
}
