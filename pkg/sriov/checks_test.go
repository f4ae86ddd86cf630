package sriov

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/doctor"
	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/spec"
)

func runChecks(t *testing.T, h *host.Host, sp spec.Spec) map[string][]doctor.Result {
	t.Helper()
	rep, err := doctor.Run(context.Background(), &engine.Env{Host: h, Spec: sp}, Checks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]doctor.Result{}
	for _, r := range rep.Checks {
		if r.Group != doctor.GroupSRIOV {
			t.Errorf("%s in group %s", r.ID, r.Group)
		}
		if (r.Status == doctor.Warn || r.Status == doctor.Fail) && r.Fix == "" {
			t.Errorf("%s %s without a fix: %s", r.ID, r.Status, r.Detail)
		}
		out[r.ID] = append(out[r.ID], r)
	}
	return out
}

func status(rs []doctor.Result) string {
	var s []string
	for _, r := range rs {
		s = append(s, string(r.Status))
	}
	return strings.Join(s, ",")
}

func TestChecksX710(t *testing.T) {
	h := fixture.Host(t, "sriov-x710-vfs")
	sp := spec.Default()
	sp.VFs = 4
	got := runChecks(t, h, sp)
	if status(got["sriov-pfs"]) != "skip,ok" || !strings.Contains(got["sriov-pfs"][1].Detail, "0000:18:00.0 Intel Corporation: i40e, NUMA 0, link ens1f0 up; 4 of 64 VFs") {
		t.Errorf("pfs: %+v", got["sriov-pfs"])
	}
	if status(got["sriov-numvfs"]) != "ok" {
		t.Errorf("numvfs: %+v", got["sriov-numvfs"])
	}
	if status(got["sriov-vfs"]) != "ok" || !strings.Contains(got["sriov-vfs"][0].Detail, "vf3 0000:18:02.3 iavf enp24s2f3") {
		t.Errorf("vfs: %+v", got["sriov-vfs"])
	}
	if status(got["sriov-unit"]) != "warn" || !strings.Contains(got["sriov-unit"][0].Detail, "vanish at the next reboot") {
		t.Errorf("unit: %+v", got["sriov-unit"])
	}
	if status(got["sriov-mmio"]) != "ok" {
		t.Errorf("mmio: %+v", got["sriov-mmio"])
	}

	// Asked for 8: numvfs fails with the setup command as the fix.
	sp.VFs = 8
	got = runChecks(t, h, sp)
	if r := got["sriov-numvfs"]; status(r) != "fail" || r[0].Fix != "photonctl setup --only sriov --pf 0000:18:00.0 --vfs 8" {
		t.Errorf("numvfs: %+v", r)
	}

	// A VF without its driver.
	if err := os.Remove(h.Path(PCIDevices, "0000:18:02.1", "driver")); err != nil {
		t.Fatal(err)
	}
	got = runChecks(t, h, sp)
	if r := got["sriov-vfs"]; status(r) != "warn" || !strings.Contains(r[0].Detail, "without a driver or netdev: 0000:18:02.1") {
		t.Errorf("vfs: %+v", r)
	}
}

func TestChecksAfterSetup(t *testing.T) {
	b := newBed(t, "sriov-cx4lx-on", func(s *spec.Spec) { s.VFs, s.PF = 4, "enp3s0f0" })
	b.expectEnable(t, "0000:03:00.0")
	if _, err := b.checkApply(t, b.k.step()); err != nil {
		t.Fatal(err)
	}
	got := runChecks(t, b.h, b.env.Spec)
	for _, id := range []string{"sriov-numvfs", "sriov-vfs", "sriov-unit"} {
		if status(got[id]) != "ok" {
			t.Errorf("%s: %+v", id, got[id])
		}
	}
	if !strings.Contains(got["sriov-unit"][0].Detail, "recreates 4 VFs on 0000:03:00.0") {
		t.Errorf("%+v", got["sriov-unit"])
	}
	// The VFs gone (echo 0 > sriov_numvfs) with the unit still there: the
	// unit's "echo 0" line is no match, it still makes 4 at boot.
	if err := os.WriteFile(b.h.Path(PCIDevices, "0000:03:00.0", "sriov_numvfs"), []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got = runChecks(t, b.h, b.env.Spec)
	if r := got["sriov-unit"]; status(r) != "warn" || !strings.Contains(r[0].Detail, "(it creates 4)") || r[0].Fix != "photonctl setup --only sriov --pf 0000:03:00.0 --vfs 4" {
		t.Errorf("unit with no VFs now: %+v", r)
	}
	if err := os.WriteFile(b.h.Path(PCIDevices, "0000:03:00.0", "sriov_numvfs"), []byte("4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// An mlx5 VF bound to vfio-pci is a failure.
	vf := b.h.Path(PCIDevices, "0000:03:00.3", "driver")
	if err := os.Remove(vf); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../../../bus/pci/drivers/vfio-pci", vf); err != nil {
		t.Fatal(err)
	}
	got = runChecks(t, b.h, b.env.Spec)
	if r := got["sriov-vfs"]; status(r) != "fail" || !strings.Contains(r[0].Fix, "drivers_probe") {
		t.Errorf("%+v", r)
	}
}

func TestChecksFirmwareOffAndMMIO(t *testing.T) {
	h := fixture.Host(t, "sriov-cx4lx-off")
	sp := spec.Default()
	sp.VFs = 4
	got := runChecks(t, h, sp)
	if r := got["sriov-pfs"]; status(r) != "warn,warn,fail" || !strings.Contains(r[0].Fix, "--only mlnx") {
		t.Errorf("pfs: %+v", r)
	}
	if r := got["sriov-numvfs"]; status(r) != "fail,fail" || !strings.Contains(r[1].Fix, "--pf 0000:03:00.1 --vfs 4") {
		t.Errorf("numvfs on both ports: %+v", r)
	}

	// VF BAR without MMIO space, with and without pci=realloc.
	h = fixture.Host(t, "sriov-cx4lx-on")
	res := h.Path(PCIDevices, "0000:03:00.1", "resource")
	b, _ := os.ReadFile(res)
	lines := strings.Split(string(b), "\n")
	lines[7] = "0x0000000000000000 0x0000000001ffffff 0x000000000014220c"
	if err := os.WriteFile(res, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	got = runChecks(t, h, spec.Default())
	if r := got["sriov-mmio"]; status(r) != "ok,fail" || !strings.Contains(r[1].Fix, "photonctl setup --pci-realloc") {
		t.Errorf("mmio: %+v", r)
	}
	if err := os.WriteFile(h.Path("/proc/cmdline"), []byte("ro intel_iommu=on pci=realloc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got = runChecks(t, h, spec.Default())
	if r := got["sriov-mmio"]; status(r) != "ok,fail" || !strings.Contains(r[1].Fix, "Above 4G decoding") {
		t.Errorf("mmio with pci=realloc: %+v", r)
	}
}

func TestChecksNoSRIOV(t *testing.T) {
	got := runChecks(t, fixture.Host(t, "sriov-no-totalvfs"), spec.Default())
	if status(got["sriov-pfs"]) != "skip,skip" || status(got["sriov-numvfs"]) != "skip" {
		t.Errorf("%+v", got)
	}
	got = runChecks(t, fixture.Host(t), spec.Default())
	if status(got["sriov-pfs"]) != "skip" {
		t.Errorf("empty host: %+v", got)
	}
}

// An enabled VF unit whose PCI device is gone (the card moved slots) fails:
// at boot it does nothing and the VFs do not come back.
func TestCheckUnitWhosePFIsGone(t *testing.T) {
	h := fixture.Host(t, "q35-igb")
	old := "0000:02:00.0" // where the card was before the slot move
	u := Unit{PF: old, Iface: "enp2s0", VFs: 2}
	write := func(p string, b []byte) {
		if err := os.MkdirAll(h.Path(UnitWantsDir), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(h.Path(p), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(UnitPath(old), u.Render())
	got := runChecks(t, h, spec.Default())["sriov-unit"]
	if len(got) != 1 || got[0].Status != doctor.Warn || !strings.Contains(got[0].Detail, "no PCI device 0000:02:00.0") {
		t.Fatalf("installed, not enabled: %+v", got)
	}
	if err := os.Symlink("../"+UnitName(old), h.Path(UnitWantsDir, UnitName(old))); err != nil {
		t.Fatal(err)
	}
	got = runChecks(t, h, spec.Default())["sriov-unit"]
	if len(got) != 1 || got[0].Status != doctor.Fail || !strings.Contains(got[0].Detail, "recreates 2 VFs on 0000:02:00.0, but this host has no PCI device 0000:02:00.0") ||
		!strings.Contains(got[0].Fix, "systemctl disable "+UnitName(old)) {
		t.Fatalf("enabled: %+v", got)
	}
}
