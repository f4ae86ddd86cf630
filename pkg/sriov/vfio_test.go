package sriov

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/golden"
	"github.com/photonctl/photonctl/pkg/netnstest"
	"github.com/photonctl/photonctl/pkg/runner/runnertest"
	"github.com/photonctl/photonctl/pkg/spec"
)

func TestBindVFIO(t *testing.T) {
	b := newBed(t, "sriov-x710-vfs", func(s *spec.Spec) { s.VFs, s.BindVFIO = 4, true })
	b.run.Expect(runnertest.Call{Argv: []string{"modprobe", "vfio-pci"}, Do: func() {
		if err := os.MkdirAll(b.h.Path("/sys/bus/pci/drivers/vfio-pci"), 0o755); err != nil {
			t.Error(err)
		}
	}})
	b.expectEnable(t, "0000:18:00.0")
	s := b.k.step()
	p, err := b.checkApply(t, s)
	if err != nil {
		t.Fatal(err)
	}
	if got := paths(p); len(got) != 7 || got[0] != "run: modprobe vfio-pci" || got[1] != PCIDevices+"/0000:18:02.0/driver" {
		t.Errorf("plan %q", got)
	}
	if p.Changes[1].Before != "iavf" || p.Changes[1].After != "vfio-pci" {
		t.Errorf("%+v", p.Changes[1])
	}
	w := b.k.Writes()
	want := []string{
		PCIDevices + "/0000:18:02.0/driver_override=vfio-pci",
		"/sys/bus/pci/drivers/iavf/unbind=0000:18:02.0",
		"/sys/bus/pci/drivers_probe=0000:18:02.0",
	}
	if len(w) != 12 || strings.Join(w[:3], " ") != strings.Join(want, " ") {
		t.Errorf("writes %q", w)
	}
	pf, _ := DiscoverPF(b.h, "0000:18:00.0")
	for _, v := range pf.VFs {
		if v.Driver != "vfio-pci" || len(v.Netdevs) != 0 {
			t.Errorf("VF %d: %+v", v.Index, v)
		}
	}
	unit, _ := b.h.ReadFile(UnitPath("0000:18:00.0"))
	golden.Assert(t, "testdata/unit-x710-vfio.golden", unit)
	if err := s.Verify(context.Background(), b.env); err != nil {
		t.Fatal(err)
	}
}

func TestBindVFIORefusesTheDefaultRoute(t *testing.T) {
	b := newBed(t, "sriov-x710-vfs", func(s *spec.Spec) { s.VFs, s.BindVFIO = 4, true })
	route := "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" +
		"enp24s2f3\t00000000\t0102A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
	if err := os.WriteFile(b.h.Path("/proc/net/route"), []byte(route), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := b.k.step().Check(context.Background(), b.env)
	if !engine.IsBadInput(err) || !strings.Contains(err.Error(), "VF 3 (0000:18:02.3, enp24s2f3) carries the default route") {
		t.Fatalf("%v", err)
	}
}

// vfio-pci is loaded but does not take the VF (the IOMMU is off): the step
// says so, and the VF goes back to its own driver (the override cleared,
// probed again) instead of being left without one.
func TestBindVFIOFailureLeavesTheVFOnItsDriver(t *testing.T) {
	b := newBed(t, "sriov-x710-vfs", func(s *spec.Spec) { s.VFs, s.BindVFIO = 4, true })
	if err := os.MkdirAll(b.h.Path("/sys/bus/pci/drivers/vfio-pci"), 0o755); err != nil {
		t.Fatal(err)
	}
	b.k.vfioRefuses = true
	s := b.k.step()
	s.WaitTimeout = 50 * time.Millisecond
	p, err := s.Check(context.Background(), b.env)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Apply(context.Background(), b.env, p)
	if err == nil || !strings.Contains(err.Error(), "VF 0 (0000:18:02.0) is bound to (none), not vfio-pci") ||
		!strings.Contains(err.Error(), "intel_iommu=on") {
		t.Fatalf("Apply = %v", err)
	}
	if d := linkBase(b.h, PCIDevices+"/0000:18:02.0/driver"); d != "iavf" {
		t.Errorf("VF 0 is on %q after the failed bind, want iavf again", d)
	}
	if o, _ := b.h.ReadString(PCIDevices + "/0000:18:02.0/driver_override"); o != "" {
		t.Errorf("driver_override = %q, want it cleared", o)
	}
	for _, w := range b.k.Writes() {
		if strings.Contains(w, "/driver/") {
			t.Errorf("wrote through the VF's driver link (gone once unbound): %s", w)
		}
	}
}

// The VF whose netdev holds the local address of this SSH session is never
// bound: the session would die with it.
func TestBindVFIORefusesTheSSHInterface(t *testing.T) {
	b := newBed(t, "sriov-x710-vfs", func(s *spec.Spec) { s.VFs, s.BindVFIO = 4, true })
	nl := netnstest.New(t)
	netnstest.AddLink(t, nl, "enp24s2f1", "", "192.0.2.10/24")
	b.env.NL = nl
	old := Getenv
	Getenv = func(k string) string {
		if k == "SSH_CONNECTION" {
			return "192.0.2.99 52114 192.0.2.10 22"
		}
		return ""
	}
	t.Cleanup(func() { Getenv = old })
	_, err := b.k.step().Check(context.Background(), b.env)
	if !engine.IsBadInput(err) || !strings.Contains(err.Error(), "VF 1 (0000:18:02.1, enp24s2f1) holds 192.0.2.10, the address of this SSH session") {
		t.Fatalf("%v", err)
	}
}
