package udev

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/doctor"
	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/runner/runnertest"
)

func TestDoctorFlagsStaleRuleAndMissingInterface(t *testing.T) {
	h, nl, _ := testHost(t, "names-centos7-cx4")
	rules := "# pinned by hand\n" +
		`SUBSYSTEM=="net", ACTION=="add", DRIVERS=="?*", ATTR{address}=="00:02:c9:fa:c3:50", ATTR{dev_id}=="0x0", ATTR{type}=="1", KERNEL=="eth*", NAME:="eth0"` + "\n" +
		`SUBSYSTEM=="net", ACTION=="add", DRIVERS=="?*", ATTR{address}=="00:02:c9:fa:c3:51", ATTR{dev_id}=="0x0", ATTR{type}=="1", KERNEL=="eth*", NAME:="eth1"` + "\n" +
		// The NIC this pinned was swapped out.
		`SUBSYSTEM=="net", ACTION=="add", DRIVERS=="?*", ATTR{address}=="00:02:c9:aa:bb:cc", ATTR{dev_id}=="0x0", ATTR{type}=="1", KERNEL=="eth*", NAME:="eth1"` + "\n"
	if err := os.WriteFile(h.Path(RulesPath), []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(h.Path("/etc/sysconfig/network-scripts/ifcfg-eth5"), []byte("DEVICE=eth5\nONBOOT=yes\nBOOTPROTO=dhcp\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := newEnv(h, nl, runnertest.New(t), "")
	rep, err := doctor.Run(context.Background(), env, Checks(), []string{doctor.GroupNames})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]doctor.Result{}
	for _, r := range rep.Checks {
		if r.Group != doctor.GroupNames {
			t.Errorf("%s: group %s", r.ID, r.Group)
		}
		got[r.ID] = append(got[r.ID], r)
	}
	has := func(id string, st doctor.Status, detail string) {
		t.Helper()
		for _, r := range got[id] {
			if r.Status == st && strings.Contains(r.Detail, detail) {
				if (st == doctor.Warn || st == doctor.Fail) && r.Fix == "" {
					t.Errorf("%s: %s result without a fix", id, st)
				}
				return
			}
		}
		t.Errorf("%s: no %s result saying %q; got %+v", id, st, detail, got[id])
	}
	has("names-rules", doctor.Fail, "line 4 names eth1 after MAC 00:02:c9:aa:bb:cc, which no interface on this host has")
	has("names-rules", doctor.Fail, "lines 3, 4 all name eth1")
	has("names-ifnames", doctor.Fail, "net.ifnames=0 is neither in /etc/default/grub nor in /proc/cmdline")
	has("names-config", doctor.Warn, "/etc/sysconfig/network-scripts/ifcfg-eth5 names eth5, which is no interface now")
	has("names-defroute", doctor.OK, "eth0 carries the default route; eth0 keeps its name after the reboot (pinned by")
	for _, r := range got["names-config"] {
		if strings.Contains(r.Detail, "ifcfg-eth0") || strings.Contains(r.Detail, "ifcfg-lo") {
			t.Errorf("names-config flags a present interface: %s", r.Detail)
		}
	}
}

func TestDoctorDefrouteWouldBeRenamed(t *testing.T) {
	h, nl, _ := testHost(t, "names-centos7-cx4")
	res := (&Step{Getenv: noSSH}).checkDefroute(context.Background(), newEnv(h, nl, runnertest.New(t), ""))
	if len(res) != 1 || res[0].Status != doctor.Fail || !strings.Contains(res[0].Detail, "after the reboot eth0 will be enp3s0f0") {
		t.Fatalf("got %+v, want a failure saying eth0 becomes enp3s0f0", res)
	}
}

// Issue 9's q35 guest: the igb enp1s0 carries the default route, and the
// root port's hotplug slot 0 must not make photonctl predict ens0 (net_id
// ignores slot numbers below 1): doctor says the name holds, and setup
// --names scripts has nothing to rewrite in /etc/network/interfaces.
func TestQ35SlotZeroKeepsTheName(t *testing.T) {
	nl := testNS(t)
	h := fixture.Host(t, "q35-igb")
	links := linksFromFixture(t, nl, h)
	addAddr(t, nl, links["enp1s0"], "10.0.2.15/24")
	defaultVia(t, nl, links["enp1s0"], "10.0.2.2")
	res := (&Step{Getenv: noSSH}).checkDefroute(context.Background(), newEnv(h, nl, runnertest.New(t), ""))
	if len(res) != 1 || res[0].Status != doctor.OK || !strings.Contains(res[0].Detail, "enp1s0 keeps its name after the reboot (PCI path 0000:01:00.0)") {
		t.Fatalf("names-defroute = %+v, want ok: enp1s0 keeps its name", res)
	}
	p, err := (&Step{Getenv: noSSH}).Check(context.Background(), newEnv(h, nl, runnertest.New(t), "scripts"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range p.Changes {
		if strings.Contains(c.Path, "/etc/network/interfaces") {
			t.Errorf("scripts mode plans to change %s: %+v", c.Path, c)
		}
	}
}
