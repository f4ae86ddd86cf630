package sriov

import (
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/photonctl/photonctl/pkg/netnstest"
	"github.com/photonctl/photonctl/pkg/spec"
)

func TestStableMAC(t *testing.T) {
	pf0, _ := net.ParseMAC("98:03:9b:4a:c3:50")
	pf1, _ := net.ParseMAC("98:03:9b:4a:c3:51")
	seen := map[string]string{pf0.String(): "pf0", pf1.String(): "pf1"}
	for _, pf := range []net.HardwareAddr{pf0, pf1} {
		for i := 0; i < 256; i++ {
			m, err := StableMAC(pf, i)
			if err != nil {
				t.Fatal(err)
			}
			if m[0]&0x02 == 0 || m[0]&0x01 != 0 {
				t.Fatalf("%s: want a locally administered unicast address", m)
			}
			if again, _ := StableMAC(pf, i); again.String() != m.String() {
				t.Fatalf("not stable: %s then %s", m, again)
			}
			if who, dup := seen[m.String()]; dup {
				t.Fatalf("VF %d of %s: %s is also %s", i, pf, m, who)
			}
			seen[m.String()] = pf.String()
		}
	}
	if m, _ := StableMAC(pf0, 0); m.String() != "9a:03:9a:4a:c3:50" {
		t.Errorf("VF 0 of %s = %s", pf0, m)
	}
	if _, err := StableMAC(net.HardwareAddr{1, 2, 3}, 0); err == nil {
		t.Error("a 3-byte MAC was accepted")
	}
}

func TestPlanVFSettings(t *testing.T) {
	pf, _ := net.ParseMAC("3c:fd:fe:b8:91:a0")
	sp := spec.Default()
	sp.VFMAC, sp.VFTrust, sp.VFSpoofCheck, sp.VFVLAN = true, true, "off", 10
	w := WantFromSpec(sp)
	// New VFs: everything to set.
	got, err := planVFSettings(pf, 2, w, nil)
	if err != nil || len(got) != 8 || got[0].Before != "(new VF)" || got[0].What != "mac" {
		t.Fatalf("%+v %v", got, err)
	}
	m0, _ := StableMAC(pf, 0)
	m1, _ := StableMAC(pf, 1)
	cur := []netlink.VfInfo{
		{ID: 0, Mac: m0, Trust: 1, Spoofchk: false, Vlan: 10},
		{ID: 1, Mac: m1, Trust: 0, Spoofchk: true, Vlan: 0},
	}
	got, err = planVFSettings(pf, 2, w, cur)
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, x := range got {
		s = append(s, x.What+":"+x.Before+">"+x.After)
	}
	if strings.Join(s, " ") != "trust:off>on spoofchk:on>off vlan:0>10" {
		t.Errorf("VF 1 only: %q", s)
	}
	args, _ := ipArgs("ens1f0", pf, 1, w)
	if strings.Join(args, " ") != "link set dev ens1f0 vf 1 mac "+m1.String()+" trust on spoofchk off vlan 10" {
		t.Errorf("ip args %q", args)
	}
}

// Real netlink in a throwaway namespace. Covered: the PF link lookup, no VF
// list on a link without SR-IOV, the netlink requests photonctl sends for
// MAC, trust, spoof check and VLAN, and the message the user gets when the
// kernel refuses them (a dummy or veth link has no VFs, as any non-SR-IOV
// link). Not covered: a driver accepting them; no SR-IOV device exists on the
// test machines.
func TestApplyVFSettingsRealNetlink(t *testing.T) {
	nl := netnstest.New(t)
	// A dummy, or a veth where the kernel has no dummy module: neither has VFs.
	l := netnstest.AddLink(t, nl, "pf0", "")
	if len(l.Attrs().Vfs) != 0 {
		t.Errorf("a dummy/veth link reports VFs: %+v", l.Attrs().Vfs)
	}
	pf := l.Attrs().HardwareAddr
	m, _ := StableMAC(pf, 0)
	for _, s := range []vfSetting{
		{0, "mac", "", m.String()}, {0, "trust", "", "on"}, {0, "spoofchk", "", "off"}, {0, "vlan", "", "10"},
	} {
		err := ApplyVFSettings(nl, "pf0", pf, []vfSetting{s})
		if !errors.Is(err, ErrVFSettings) {
			t.Fatalf("%s on a dummy/veth: want ErrVFSettings, got %v", s.What, err)
		}
		want := "ip link set dev pf0 vf 0 " + s.What + " " + s.After
		if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "pf0") {
			t.Errorf("%q lacks %q", err, want)
		}
		if !strings.Contains(err.Error(), "not an SR-IOV PF") {
			t.Errorf("%q lacks the reason", err)
		}
	}
	err := ApplyVFSettings(nl, "nosuch0", pf, []vfSetting{{0, "trust", "", "on"}})
	if err == nil || !strings.Contains(err.Error(), "PF link nosuch0") {
		t.Errorf("missing link: %v", err)
	}
	if err := ApplyVFSettings(nl, "pf0", pf, nil); err != nil {
		t.Errorf("nothing to set: %v", err)
	}

	// Through the step: the fixture's PF name on a real link in the
	// namespace; the VFs are made on the fixture tree, the trust setting
	// goes to the kernel and is refused.
	if err := nl.LinkSetName(l, "enp3s0f0"); err != nil {
		t.Fatal(err)
	}
	b := newBed(t, "sriov-cx4lx-on", func(s *spec.Spec) { s.VFs, s.PF, s.VFTrust = 2, "enp3s0f0", true })
	b.env.NL = nl
	_, err = b.checkApply(t, b.k.step())
	if !errors.Is(err, ErrVFSettings) || !strings.Contains(err.Error(), "ip link set dev enp3s0f0 vf 0 trust on") {
		t.Errorf("step with --vf-trust: %v", err)
	}
	if len(b.k.Writes()) != 2 {
		t.Errorf("the VFs come first: %q", b.k.Writes())
	}
}
