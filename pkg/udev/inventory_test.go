package udev

import (
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/golden"
)

func TestInventoryAndRulesFromNetns(t *testing.T) {
	nl := testNS(t)
	h := fixture.Host(t, "names-centos7-cx4")
	links := linksFromFixture(t, nl, h)
	addAddr(t, nl, links["eth0"], "10.99.0.2/24")
	// A virtual link (no sysfs device) and a VF, both left alone.
	addDummy(t, nl, "br-virt", "02:00:00:00:00:09")
	inv, err := Take(h, nl)
	if err != nil {
		t.Fatal(err)
	}
	sortNICs(inv.NICs)
	if len(inv.NICs) != 2 || inv.NICs[0].Name != "eth0" || inv.NICs[1].Name != "eth1" {
		t.Fatalf("NICs = %+v, want eth0 and eth1", inv.NICs)
	}
	n := inv.NICs[0]
	if n.PCI != "0000:03:00.0" || n.Driver != "mlx5_core" || n.DevID != "0x0" || n.Type != 1 || n.MAC.String() != "00:02:c9:fa:c3:50" || n.MACSource != "current" {
		t.Errorf("eth0 = %+v", n)
	}
	if s := inv.Summary(); !strings.Contains(s, "br-virt (virtual: no device link in /sys/class/net/br-virt)") {
		t.Errorf("summary %q does not say br-virt is virtual", s)
	}
	b, err := RenderNames(inv.NICs)
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "testdata/centos7-cx4.rules.golden", b)
	// What it renders parses back to the same pins.
	f, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	pins := Pins(f)
	if len(pins) != 2 || pins[0].Name != "eth0" || pins[0].MAC != "00:02:c9:fa:c3:50" || !pins[0].Final || pins[1].Name != "eth1" {
		t.Errorf("pins = %+v", pins)
	}
	if string(f.Render()) != string(b) {
		t.Error("render of the parsed rules differs from the input")
	}
}

func TestInventorySkipsLinksSysfsDoesNotDescribe(t *testing.T) {
	nl := testNS(t)
	h := fixture.Host(t, "names-centos7-cx4")
	// The namespace's eth0 is not the fixture's eth0.
	addDummy(t, nl, "eth0", "02:00:00:00:00:01")
	inv, err := Take(h, nl)
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.NICs) != 0 || !strings.Contains(inv.Summary(), "eth0 (/sys/class/net/eth0/address says 00:02:c9:fa:c3:50 but netlink says 02:00:00:00:00:01") {
		t.Errorf("NICs %v, summary %q", inv.NICs, inv.Summary())
	}
}
