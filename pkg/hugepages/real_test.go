package hugepages

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/runner/runnertest"
	"github.com/photonctl/photonctl/pkg/spec"
)

const realPool = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"

// TestRealSysfs runs the whole step against this machine's real sysfs:
// a root whose /sys and /proc are the machine's (symlinks) and whose /etc is
// a temporary folder. It runs in a child process with its own mount
// namespace, so the hugetlbfs mount never reaches the machine, and the page
// count is put back whatever happens.
func TestRealSysfs(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root: writes the real nr_hugepages and mounts hugetlbfs")
	}
	if _, err := os.Stat(realPool); err != nil {
		t.Skip("needs 2 MB hugepages in the kernel: " + err.Error())
	}
	orig, err := os.ReadFile(realPool)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.WriteFile(realPool, orig, 0); err != nil {
			t.Errorf("putting nr_hugepages back to %s: %v", bytes.TrimSpace(orig), err)
		}
	})
	cmd := exec.Command(os.Args[0], "-test.run=^TestRealSysfsChild$", "-test.v")
	cmd.Env = append(os.Environ(), "PHOTONCTL_REAL_HUGEPAGES_CHILD=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	out, err := cmd.CombinedOutput()
	t.Logf("child:\n%s", out)
	if err != nil {
		t.Fatalf("child failed: %v", err)
	}
	if !strings.Contains(string(out), "--- PASS: TestRealSysfsChild") {
		t.Fatal("the child test did not run")
	}
	if now, _ := os.ReadFile(realPool); !bytes.Equal(now, orig) {
		t.Errorf("nr_hugepages is %s after the child, want %s", bytes.TrimSpace(now), bytes.TrimSpace(orig))
	}
}

func TestRealSysfsChild(t *testing.T) {
	if os.Getenv("PHOTONCTL_REAL_HUGEPAGES_CHILD") != "1" {
		t.Skip("runs only as the child of TestRealSysfs, in a private mount namespace")
	}
	root := t.TempDir()
	// The machine's /sys and /proc, bind-mounted in this private mount
	// namespace (a link out of the root would be refused: --root is a
	// boundary).
	for _, d := range []string{"sys", "proc"} {
		dst := filepath.Join(root, d)
		if err := os.Mkdir(dst, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mount("/"+d, dst, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
			t.Fatalf("bind-mounting /%s: %v", d, err)
		}
		t.Cleanup(func() { syscall.Unmount(dst, syscall.MNT_DETACH) })
	}
	h, err := host.New(root)
	if err != nil {
		t.Fatal(err)
	}
	before, err := ReadPool(h, 2048, AllNodes)
	if err != nil {
		t.Fatal(err)
	}
	want := before.Nr + 4
	sp := spec.Default()
	sp.Hugepages = int(want)
	env := &engine.Env{Host: h, Run: runnertest.New(t), Spec: sp}
	s := NewStep()
	t.Cleanup(func() {
		// Only this namespace has the mount; unmount it so the folder can go.
		syscall.Unmount(filepath.Join(root, "dev/hugepages"), syscall.MNT_DETACH)
		if err := os.WriteFile(realPool, []byte(itoa(before.Nr)), 0); err != nil {
			t.Errorf("putting nr_hugepages back: %v", err)
		}
	})
	rep, err := engine.Run(context.Background(), env, []engine.Step{s}, []engine.Step{s}, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st := rep.Steps[0]; st.Status != engine.StatusChanged {
		t.Fatalf("status %s: %s", st.Status, st.Message)
	}
	got, err := ReadPool(h, 2048, AllNodes)
	if err != nil {
		t.Fatal(err)
	}
	if got.Nr != want || got.Free < 4 {
		t.Errorf("the kernel reports %d pages (%d free), want %d", got.Nr, got.Free, want)
	}
	mounts, _ := os.ReadFile("/proc/self/mounts")
	if !strings.Contains(string(mounts), " hugetlbfs ") {
		t.Errorf("no hugetlbfs in this namespace's mounts:\n%s", mounts)
	}
	if b, _ := h.ReadFile(SysctlFile); !strings.Contains(string(b), "vm.nr_hugepages = "+itoa(want)) {
		t.Errorf("sysctl file: %q", b)
	}
	// The second run finds everything in place.
	env2 := &engine.Env{Host: h, Run: runnertest.New(t), Spec: sp}
	rep, err = engine.Run(context.Background(), env2, []engine.Step{s}, []engine.Step{s}, engine.Options{})
	if err != nil || rep.Steps[0].Status != engine.StatusOK {
		t.Errorf("second run: %v %+v", err, rep.Steps)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
