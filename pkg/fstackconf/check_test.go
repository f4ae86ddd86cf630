package fstackconf

import (
	"strings"
	"testing"
)

var eightCPUs = CPUSet{0: true, 1: true, 2: true, 3: true, 4: true, 5: true, 6: true, 7: true}

func checkStrings(t *testing.T, in string, v Version, online CPUSet) []string {
	t.Helper()
	var out []string
	for _, p := range Check(mustParse(t, []byte(in)), v, online) {
		out = append(out, p.String())
	}
	return out
}

func TestFullLayoutPasses(t *testing.T) {
	if got := checkStrings(t, string(readTestdata(t, "full-1.24.conf")), Version{24}, eightCPUs); len(got) > 0 {
		t.Errorf("full-1.24.conf for 1.24: %q", got)
	}
	got := checkStrings(t, string(readTestdata(t, "full-1.24.conf")), Version{25}, eightCPUs)
	want := []string{
		"line 13: `pci_whitelist`: F-Stack 1.25 reads the PCI allow-list from `allow`; rename the key",
		"line 79: `type`: read by F-Stack 1.24 only, not by 1.25; it would be ignored",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("full-1.24.conf for 1.25:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// base is a config that passes; each case breaks one thing.
const base = `[dpdk]
lcore_mask=2
port_list=0
pkt_tx_delay=0
pci_whitelist=03:00.0,03:00.2

[port0]
addr=192.168.1.2
netmask=255.255.255.0
broadcast=192.168.1.255
gateway=192.168.1.1
`

func TestCheckFindsEachMistake(t *testing.T) {
	v24, v25 := Version{24}, Version{25}
	cases := []struct {
		name    string
		v       Version
		in      string
		want    []string
		online  CPUSet
		replace [2]string
		full    string
	}{
		{name: "passes", v: v24, replace: [2]string{"", ""}},
		{name: "misspelt key", v: v24, replace: [2]string{"pkt_tx_delay=0", "tx_csum_offload_skip=1\npkt_tx_delay=0"},
			want: []string{"line 4: `tx_csum_offload_skip`: F-Stack reads `tx_csum_offoad_skip`"}},
		{name: "allow on 1.24", v: v24, replace: [2]string{"pci_whitelist=", "allow="},
			want: []string{"line 5: `allow`: F-Stack 1.24 reads the PCI allow-list from `pci_whitelist`; rename the key"}},
		{name: "pci_whitelist on 1.25", v: v25,
			want: []string{"line 5: `pci_whitelist`: F-Stack 1.25 reads the PCI allow-list from `allow`; rename the key"}},
		{name: "1.25 key on 1.24", v: v24, replace: [2]string{"pkt_tx_delay=0", "pkt_tx_delay=0\nfstack_log_level=1"},
			want: []string{"line 5: `fstack_log_level`: read by F-Stack 1.25 and later, not by 1.24; it would be ignored"}},
		{name: "rss_check on 1.24", v: v24, replace: [2]string{"[port0]", "[rss_check]\nenable=0\n[port0]"},
			want: []string{"line 7: [rss_check]: read by F-Stack 1.25 and later, not by 1.24; it would be ignored"}},
		{name: "misspelt section", v: v24, replace: [2]string{"[port0]", "[freebsd.sysctll]\n[port0]"},
			want: []string{"line 7: [freebsd.sysctll]: F-Stack reads [freebsd.sysctl]"}},
		{name: "missing port keys", v: v24, replace: [2]string{"netmask=255.255.255.0\nbroadcast=192.168.1.255\n", ""},
			want: []string{"line 7: [port0] lacks netmask, which F-Stack needs", "line 7: [port0] lacks broadcast, which F-Stack needs"}},
		{name: "port not in port_list", v: v24, replace: [2]string{"port_list=0", "port_list=1"},
			want: []string{"line 3: port_list names port 1, which has no [port1] section", "line 7: [port0]: port 0 is not in port_list=1; F-Stack ignores this section"}},
		{name: "port_list after port", v: v24, full: "[port0]\naddr=192.168.1.2\nnetmask=255.255.255.0\nbroadcast=192.168.1.255\ngateway=192.168.1.1\n\n[dpdk]\nlcore_mask=2\nport_list=0\n",
			want: []string{"line 9: port_list comes after [port0] (line 1): F-Stack has not read it yet when it reads the port; put [dpdk] first"}},
		{name: "gateway outside subnet", v: v24, replace: [2]string{"gateway=192.168.1.1", "gateway=192.168.2.1"},
			want: []string{"line 11: [port0] gateway 192.168.2.1 is not in 192.168.1.0/24, the subnet of addr 192.168.1.2 with netmask 255.255.255.0"}},
		{name: "broadcast mismatch", v: v24, replace: [2]string{"broadcast=192.168.1.255", "broadcast=192.168.1.254"},
			want: []string{"line 10: [port0] broadcast 192.168.1.254 does not match addr 192.168.1.2 with netmask 255.255.255.0: want 192.168.1.255"}},
		{name: "bad netmask", v: v24, replace: [2]string{"netmask=255.255.255.0", "netmask=255.0.255.0"},
			want: []string{"line 9: [port0] netmask=255.0.255.0 is not a netmask (its ones must come first)"}},
		{name: "bad address", v: v24, replace: [2]string{"addr=192.168.1.2", "addr=192.168.1"},
			want: []string{"line 8: [port0] addr=192.168.1 is not an IPv4 address"}},
		{name: "bad IPv6", v: v24, replace: [2]string{"gateway=192.168.1.1", "gateway=192.168.1.1\naddr6=192.168.1.2\nprefix_len=64\ngateway6=fe80::1"},
			want: []string{"line 12: [port0] addr6=192.168.1.2 is not an IPv6 address"}},
		{name: "lcore_mask beyond the host", v: v24, online: CPUSet{0: true, 1: true}, replace: [2]string{"lcore_mask=2", "lcore_mask=0x12"},
			want: []string{"line 2: lcore_mask=0x12 names CPU 4, which this host lacks (online: 0-1)"}},
		{name: "lcore_mask not hex", v: v24, replace: [2]string{"lcore_mask=2", "lcore_mask=cpu1"},
			want: []string{`line 2: lcore_mask: "cpu1" is not a hexadecimal CPU mask such as 2 (CPU 1) or 0x6 (CPUs 1 and 2)`}},
		{name: "no lcore_mask", v: v24, replace: [2]string{"lcore_mask=2\n", ""},
			want: []string{"[dpdk] has no lcore_mask: F-Stack needs the CPUs to run on; add lcore_mask=2 (CPU 1)"}},
		{name: "out of range", v: v24, replace: [2]string{"pkt_tx_delay=0", "pkt_tx_delay=500"},
			want: []string{"line 4: pkt_tx_delay=500 is out of range: give 0 to 100"}},
		{name: "not a number", v: v24, replace: [2]string{"pkt_tx_delay=0", "pkt_tx_delay=off"},
			want: []string{"line 4: pkt_tx_delay=off is not a whole number; give 0 to 100"}},
		{name: "duplicate key", v: v24, replace: [2]string{"pkt_tx_delay=0", "pkt_tx_delay=0\npkt_tx_delay=100"},
			want: []string{"line 5: `pkt_tx_delay` again in [dpdk] (first at line 4): F-Stack takes the last one; keep one"}},
		{name: "key before any section", v: v24, in: "", replace: [2]string{"[dpdk]", "memory=1\n[dpdk]"},
			want: []string{"line 1: `memory` comes before any [section]: F-Stack ignores it"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := base
			if c.replace[0] != "" {
				if !strings.Contains(in, c.replace[0]) {
					t.Fatalf("base lacks %q", c.replace[0])
				}
				in = strings.Replace(in, c.replace[0], c.replace[1], 1)
			}
			in += c.in
			online := c.online
			if online == nil {
				online = eightCPUs
			}
			if c.full != "" {
				in = c.full
			}
			got := checkStrings(t, in, c.v, online)
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("input:\n%s\ngot:\n%s\nwant:\n%s", in, strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

func TestVersions(t *testing.T) {
	for _, c := range []struct {
		in, key string
		err     bool
	}{{"1.21", "pci_whitelist", false}, {"1.24", "pci_whitelist", false}, {"1.25", "allow", false}, {"1.26", "allow", false}, {"v1.21.6", "pci_whitelist", false}, {"1.20", "", true}, {"2.0", "", true}, {"x", "", true}} {
		v, err := ParseVersion(c.in)
		if (err != nil) != c.err {
			t.Errorf("ParseVersion(%q) err = %v", c.in, err)
			continue
		}
		if err == nil && v.AllowKey() != c.key {
			t.Errorf("%s reads %s, want %s", c.in, v.AllowKey(), c.key)
		}
	}
	if (Version{21}).Known("dpdk", "log_level") || !(Version{22}).Known("dpdk", "log_level") {
		t.Error("log_level is read from 1.22 on")
	}
	if (Version{23}).KnownSection("vlan1") || !(Version{24}).KnownSection("vlan1") {
		t.Error("[vlanN] is read from 1.24 on")
	}
	if !(Version{24}).Known("freebsd.boot", "kern.ipc.maxsockets") {
		t.Error("[freebsd.boot] takes any tunable")
	}
}
