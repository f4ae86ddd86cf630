package sriov

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/photonctl/photonctl/pkg/fixture"
)

// The rendered unit through the real systemctl, offline on a scratch root
// (--root: no running systemd is asked or changed): it must parse, and its
// [Install] must make the multi-user.target.wants link the step and doctor
// look for.
func TestUnitEnablesWithRealSystemctl(t *testing.T) {
	path, err := exec.LookPath("systemctl")
	if err != nil {
		t.Skip("needs systemctl (apt-get install systemd)")
	}
	root := t.TempDir()
	u := Unit{PF: "0000:18:00.0", Iface: "ens1f0", VFs: 4,
		Settings: [][]string{{"link", "set", "dev", "ens1f0", "vf", "0", "trust", "on"}}, VFIO: []string{"0000:18:02.0"}}
	dir := filepath.Join(root, UnitDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, UnitName(u.PF)), u.Render(), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--root="+root, "enable", UnitName(u.PF)).CombinedOutput()
	if err != nil {
		t.Fatalf("systemctl enable: %v\n%s", err, out)
	}
	if _, err := os.Lstat(filepath.Join(root, UnitWantsDir, UnitName(u.PF))); err != nil {
		t.Fatalf("no wants link after systemctl enable: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "bad-setting") || strings.Contains(string(out), "Unknown") {
		t.Errorf("systemctl complains: %s", out)
	}
}

func BenchmarkDiscover(b *testing.B) {
	h := fixture.Host(b, "sriov-x710-vfs")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Discover(h); err != nil {
			b.Fatal(err)
		}
	}
}

// The unit's shell lines run by the real /bin/sh on a fixture tree (the /sys
// paths moved under the fixture root): the quoting holds and the writes land
// where they should. The modprobe and ip lines are not run.
func TestUnitShellLines(t *testing.T) {
	h := fixture.Host(t, "sriov-x710-vfs")
	u := Unit{PF: "0000:18:00.0", Iface: "ens1f0", VFs: 4, VFIO: []string{"0000:18:02.1"}}
	ran := 0
	for _, line := range strings.Split(string(u.Render()), "\n") {
		cmd, ok := strings.CutPrefix(line, "ExecStart=")
		if !ok {
			continue
		}
		cmd = strings.TrimPrefix(cmd, "-")
		payload, ok := strings.CutPrefix(cmd, "/bin/sh -c '")
		if !ok {
			continue
		}
		payload = strings.TrimSuffix(payload, "'")
		payload = strings.ReplaceAll(payload, " /sys/", " "+h.Root()+"/sys/")
		if out, err := exec.Command("/bin/sh", "-c", payload).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", payload, err, out)
		}
		ran++
	}
	if ran != 5 {
		t.Errorf("ran %d shell lines, want 5", ran)
	}
	for p, want := range map[string]string{
		PCIDevices + "/0000:18:00.0/sriov_numvfs":    "4",
		PCIDevices + "/0000:18:02.1/driver_override": "vfio-pci",
		"/sys/bus/pci/drivers/iavf/unbind":           "0000:18:02.1",
		"/sys/bus/pci/drivers_probe":                 "0000:18:02.1",
	} {
		if got, _ := h.ReadString(p); got != want {
			t.Errorf("%s = %q, want %q", p, got, want)
		}
	}
}
