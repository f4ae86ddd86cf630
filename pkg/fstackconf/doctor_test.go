package fstackconf

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/doctor"
	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/spec"
)

func runCheck(t *testing.T, env *engine.Env, id string) []doctor.Result {
	t.Helper()
	for _, c := range checksFor("") {
		if c.ID == id {
			if c.Group != doctor.GroupFstackConf {
				t.Errorf("%s in group %s", id, c.Group)
			}
			return c.Run(context.Background(), env)
		}
	}
	t.Fatalf("no check %s", id)
	return nil
}

func one(t *testing.T, rs []doctor.Result) doctor.Result {
	t.Helper()
	if len(rs) != 1 {
		t.Fatalf("%d results, want 1: %+v", len(rs), rs)
	}
	return rs[0]
}

const goodConf = `[dpdk]
lcore_mask=2
memory=512
port_list=0
pkt_tx_delay=0
pci_whitelist=0000:03:00.0,03:00.2

[port0]
addr=192.168.1.2
netmask=255.255.255.0
broadcast=192.168.1.255
gateway=192.168.1.1
`

func withConf(t *testing.T, env *engine.Env, conf string) {
	t.Helper()
	if err := os.WriteFile(env.Host.Path("/etc/f-stack.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDoctorFileOnly(t *testing.T) {
	// These checks need no netlink.
	env := &engine.Env{Host: fixture.Host(t, "fstack-cx4", "fstack-cx4-vfs", "fstack-intel"), Spec: spec.Default()}
	env.Spec.FstackVersion = "1.24"
	cases := []struct {
		name, conf, id string
		status         doctor.Status
		detail, fix    string
	}{
		{"missing", "", CheckFile, doctor.Fail, "/etc/f-stack.conf does not exist: F-Stack will not start", "photonctl setup --only fstack"},
		{"missing, others skip", "", CheckTxDelay, doctor.Skip, "no readable /etc/f-stack.conf (see fstackconf-file)", ""},
		{"syntax", "[dpdk]\nx\n", CheckFile, doctor.Fail, `/etc/f-stack.conf does not parse: line 2: "x" is neither a comment, a [section] nor key=value`, "fix the lines named; photonctl conf check /etc/f-stack.conf"},
		{"problems", strings.Replace(goodConf, "pci_whitelist", "allow", 1), CheckFile, doctor.Fail,
			"/etc/f-stack.conf for F-Stack 1.24: 1 problem(s): line 6: `allow`: F-Stack 1.24 reads the PCI allow-list from `pci_whitelist`; rename the key",
			"photonctl conf check /etc/f-stack.conf --fstack-version 1.24, then fix the lines it names"},
		{"passes", goodConf, CheckFile, doctor.OK, "/etc/f-stack.conf passes conf check for F-Stack 1.24", ""},
		{"tx delay 100", strings.Replace(goodConf, "pkt_tx_delay=0", "pkt_tx_delay=100", 1), CheckTxDelay, doctor.Warn,
			"pkt_tx_delay=100: F-Stack holds packets up to 100 µs to batch them", "set pkt_tx_delay=0 in [dpdk]: photonctl setup --only fstack (or edit /etc/f-stack.conf)"},
		{"tx delay unset", strings.Replace(goodConf, "pkt_tx_delay=0\n", "", 1), CheckTxDelay, doctor.Warn,
			"[dpdk] has no pkt_tx_delay: F-Stack holds packets up to 100 µs to batch them", "set pkt_tx_delay=0 in [dpdk]: photonctl setup --only fstack (or edit /etc/f-stack.conf)"},
		{"tx delay 0", goodConf, CheckTxDelay, doctor.OK, "pkt_tx_delay=0: packets leave at once", ""},
		{"memory fits", goodConf, CheckHugepages, doctor.OK, "memory=512 MB; 1024 MB of hugepages are free", ""},
		{"memory too big", strings.Replace(goodConf, "memory=512", "memory=2048", 1), CheckHugepages, doctor.Fail,
			"memory=2048 MB, but only 1024 MB of hugepages are free (0 × 1048576 kB, 512 × 2048 kB)",
			"photonctl setup --hugepages 1024 (2 MB pages for 2048 MB), or lower memory in /etc/f-stack.conf"},
		{"memory unset", strings.Replace(goodConf, "memory=512\n", "", 1), CheckHugepages, doctor.Skip, "[dpdk] sets no memory: DPDK takes the hugepages it finds", ""},
		{"no allow-list", strings.Replace(goodConf, "pci_whitelist=0000:03:00.0,03:00.2\n", "", 1), CheckAllow, doctor.Fail,
			"[dpdk] has no pci_whitelist: DPDK probes every device it can and F-Stack may drive the wrong one", "photonctl setup --only fstack (or edit /etc/f-stack.conf)"},
		{"absent device", strings.Replace(goodConf, "0000:03:00.0,03:00.2", "05:00.0", 1), CheckAllow, doctor.Fail,
			"pci_whitelist lists 05:00.0, which this host does not have (no /sys/bus/pci/devices/0000:05:00.0)", "list existing devices (lspci -D -d ::0200): photonctl setup --only fstack (or edit /etc/f-stack.conf)"},
		{"intel not on vfio", strings.Replace(goodConf, "0000:03:00.0,03:00.2", "0000:04:02.0", 1), CheckAllow, doctor.Fail,
			"0000:04:02.0 (vendor 0x8086) is bound to iavf: DPDK needs it on vfio-pci", "dpdk-devbind.py --bind=vfio-pci 0000:04:02.0"},
		{"intel on vfio", strings.Replace(goodConf, "0000:03:00.0,03:00.2", "0000:04:02.1", 1), CheckAllow, doctor.OK, "0000:04:02.1: bound to vfio-pci", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			os.Remove(env.Host.Path("/etc/f-stack.conf"))
			if c.conf != "" {
				withConf(t, env, c.conf)
			}
			r := one(t, runCheck(t, env, c.id))
			if r.Status != c.status || r.Detail != c.detail || r.Fix != c.fix {
				t.Errorf("got  %s %q fix %q\nwant %s %q fix %q", r.Status, r.Detail, r.Fix, c.status, c.detail, c.fix)
			}
		})
	}
}

func TestDoctorMellanoxAllowList(t *testing.T) {
	env := &engine.Env{Host: fixture.Host(t, "fstack-cx4", "fstack-cx4-vfs"), Spec: spec.Default()}
	env.Spec.FstackVersion = "1.24"
	withConf(t, env, goodConf)
	rs := runCheck(t, env, CheckAllow)
	if len(rs) != 2 {
		t.Fatalf("%+v", rs)
	}
	for _, r := range rs {
		if r.Status != doctor.OK || !strings.Contains(r.Detail, "Mellanox on mlx5_core") {
			t.Errorf("%+v", r)
		}
	}
}

func TestDoctorPort0(t *testing.T) {
	env, _ := cx4Env(t, "fstack-cx4-vfs")
	withConf(t, env, goodConf)
	r := one(t, runCheck(t, env, CheckPort0))
	if r.Status != doctor.OK || r.Detail != "[port0] is ens1f0's 192.168.1.2/255.255.255.0 via 192.168.1.1" {
		t.Errorf("%+v", r)
	}
	withConf(t, env, strings.Replace(strings.Replace(goodConf, "addr=192.168.1.2", "addr=192.168.1.7", 1), "gateway=192.168.1.1", "gateway=192.168.1.254", 1))
	r = one(t, runCheck(t, env, CheckPort0))
	want := "[port0] differs from the PF: addr=192.168.1.7, ens1f0 has 192.168.1.2; gateway=192.168.1.254, ens1f0 has 192.168.1.1"
	if r.Status != doctor.Fail || r.Detail != want || r.Fix != "photonctl setup --only fstack (or edit /etc/f-stack.conf)" {
		t.Errorf("got %s %q fix %q\nwant %q", r.Status, r.Detail, r.Fix, want)
	}
}
