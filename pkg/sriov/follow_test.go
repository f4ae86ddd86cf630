package sriov

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/photonctl/photonctl/pkg/doctor"
	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/golden"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/runner/runnertest"
	"github.com/photonctl/photonctl/pkg/spec"
)

// unitScript is the shell the MAC-form unit runs, as systemd hands it to
// /bin/sh: continuation lines joined, $$ made $, with /sys moved under
// root.
func unitScript(t *testing.T, unit []byte, root string) string {
	t.Helper()
	joined := strings.ReplaceAll(string(unit), "\\\n", " ")
	for _, l := range strings.Split(joined, "\n") {
		if cmd, ok := strings.CutPrefix(l, "ExecStart=/bin/sh -c '"); ok {
			s := strings.TrimSuffix(strings.TrimSpace(cmd), "'")
			s = strings.ReplaceAll(s, "$$", "$")
			return strings.ReplaceAll(s, "/sys/", root+"/sys/")
		}
	}
	t.Fatalf("no ExecStart=/bin/sh -c in\n%s", unit)
	return ""
}

// The unit follows the card: installed when the igb sat at 0000:02:00.0,
// run by the real /bin/sh on the guest where the card now sits at
// 0000:01:00.0, it finds the PF by its MAC, writes its sriov_numvfs, and
// binds VF 0 through the PF's virtfn0 link, not through an address.
func TestUnitFollowsTheCard(t *testing.T) {
	h := fixture.Host(t, "q35-igb", "q35-igb-vfs")
	u := Unit{PF: "0000:02:00.0", Iface: "enp2s0", VFs: 2, MAC: "52:54:00:12:34:56", VFIO: []string{"0000:02:10.0"}, VFIOIndex: []int{0}}
	b := u.Render()
	golden.Assert(t, "testdata/unit-igb-mac.golden", b)
	if in := ReadUnitInfo(b); in.MAC != u.MAC || in.VFs != 2 || in.PF != u.PF {
		t.Errorf("ReadUnitInfo = %+v", in)
	}
	if err := os.WriteFile(h.Path(PCIDevices+"/0000:01:10.0/driver_override"), []byte("(null)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("/bin/sh", "-c", unitScript(t, b, h.Root())).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for p, want := range map[string]string{
		PCIDevices + "/0000:01:00.0/sriov_numvfs":    "2",
		PCIDevices + "/0000:01:10.0/driver_override": "vfio-pci",
		"/sys/bus/pci/drivers_probe":                 "0000:01:10.0",
	} {
		if got, _ := h.ReadString(p); got != want {
			t.Errorf("%s = %q, want %q", p, got, want)
		}
	}
	// No NIC with that MAC: the unit waits its bound, then fails, saying so.
	u.MAC, u.Wait = "02:00:00:00:00:01", 1
	out, err = exec.Command("/bin/sh", "-c", unitScript(t, u.Render(), h.Root())).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "photonctl: no NIC with MAC 02:00:00:00:00:01 after 1 s") {
		t.Errorf("no such NIC: %v %s", err, out)
	}
}

// systemd's own parser takes the MAC-form unit.
func TestUnitByMACVerifies(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("needs systemd-analyze (apt-get install systemd)")
	}
	dir := t.TempDir()
	u := Unit{PF: "0000:01:00.0", Iface: "enp1s0", VFs: 2, MAC: "52:54:00:12:34:56",
		Settings: [][]string{{"link", "set", "dev", "enp1s0", "vf", "0", "trust", "on"}}, VFIO: []string{"0000:01:10.0"}, VFIOIndex: []int{0}}
	p := filepath.Join(dir, "photonctl-sriov-test.service")
	if err := os.WriteFile(p, u.Render(), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, sa, "verify", "--man=no", p).CombinedOutput()
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "photonctl-sriov-test.service") && !strings.Contains(l, "/sbin/modprobe") && !strings.Contains(l, "/sbin/ip") {
			t.Errorf("systemd-analyze verify: %s", l)
		}
	}
}

// setup on the q35 guest writes the MAC-form unit (the PF's address is its
// permanent one), removes the unit the card had in its earlier slot, and
// doctor finds the unit by the card's MAC.
func TestSetupUnitFollowsTheCard(t *testing.T) {
	b := newBed(t, "q35-igb", func(s *spec.Spec) { s.VFs, s.PF = 2, "enp1s0" })
	// The unit of the card's earlier slot, enabled.
	earlier := Unit{PF: "0000:02:00.0", Iface: "enp2s0", VFs: 2, MAC: "52:54:00:12:34:56"}
	writeUnit(t, b.h, earlier)
	b.run.Expect(runnertest.Call{Argv: []string{"systemctl", "disable", UnitName("0000:02:00.0")}, Do: func() {
		os.Remove(b.h.Path(UnitWantsDir, UnitName("0000:02:00.0")))
	}})
	b.expectEnable(t, "0000:01:00.0")
	if got := runChecks(t, b.h, spec.Default())["sriov-unit"]; len(got) != 0 && got[0].Status != doctor.Skip {
		t.Logf("before: %+v", got)
	}
	s := b.k.step()
	if _, err := b.checkApply(t, s); err != nil {
		t.Fatal(err)
	}
	if b.h.Exists(UnitPath("0000:02:00.0")) {
		t.Error("the earlier slot's unit is still there")
	}
	unit, err := b.h.ReadFile(UnitPath("0000:01:00.0"))
	if err != nil || ReadUnitInfo(unit).MAC != "52:54:00:12:34:56" {
		t.Fatalf("unit %v:\n%s", err, unit)
	}
	got := runChecks(t, b.h, spec.Default())["sriov-unit"]
	if len(got) != 1 || got[0].Status != doctor.OK || !strings.Contains(got[0].Detail, "on the NIC with MAC 52:54:00:12:34:56, in whatever slot (now 0000:01:00.0)") {
		t.Errorf("doctor: %+v", got)
	}
}

func writeUnit(t *testing.T, h *host.Host, u Unit) {
	t.Helper()
	if err := os.MkdirAll(h.Path(UnitWantsDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(h.Path(UnitPath(u.PF)), u.Render(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../"+UnitName(u.PF), h.Path(UnitWantsDir, UnitName(u.PF))); err != nil {
		t.Fatal(err)
	}
}
