package fstackconf

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Version is an F-Stack release, 1.Minor.
type Version struct{ Minor int }

// Oldest and Newest are the releases whose key sets this package knows.
// Releases after Newest are taken to read Newest's keys.
var (
	Oldest = Version{21}
	Newest = Version{25}
)

func (v Version) String() string { return fmt.Sprintf("1.%d", v.Minor) }

// Versions lists the releases photonctl knows the keys of, oldest first.
func Versions() []Version {
	var out []Version
	for m := Oldest.Minor; m <= Newest.Minor; m++ {
		out = append(out, Version{m})
	}
	return out
}

// VersionList is Versions as "1.21, 1.22, ..." for messages.
func VersionList() string {
	var s []string
	for _, v := range Versions() {
		s = append(s, v.String())
	}
	return strings.Join(s, ", ")
}

// ParseVersion reads "1.24" (a third part, "1.21.6", is allowed and ignored).
func ParseVersion(s string) (Version, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "v")
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 3 || parts[0] != "1" {
		return Version{}, fmt.Errorf("%w: %q is not an F-Stack version; give one of %s", ErrVersion, s, VersionList())
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil || n < 0 {
		return Version{}, fmt.Errorf("%w: %q is not an F-Stack version; give one of %s", ErrVersion, s, VersionList())
	}
	v := Version{n}
	if v.Minor < Oldest.Minor {
		return v, fmt.Errorf("%w: F-Stack %s is older than %s, the oldest release photonctl knows the keys of; give one of %s", ErrVersion, v, Oldest, VersionList())
	}
	return v, nil
}

// AllowKey is the [dpdk] key holding the PCI allow-list: pci_whitelist up to
// 1.24 (whose sample config mentions allow, yet whose parser ignores it),
// allow from 1.25.
func (v Version) AllowKey() string {
	if v.Minor >= 25 {
		return "allow"
	}
	return "pci_whitelist"
}

// since marks a key read from release `from` on, up to `until` (0: still read).
type since struct{ from, until int }

func (s since) in(v Version) bool {
	return v.Minor >= s.from && (s.until == 0 || v.Minor <= s.until)
}

var always = since{}

// sectionKeys lists, per kind of section, the keys F-Stack's lib/ff_config.c
// acts on and the releases that do.
var sectionKeys = map[string]map[string]since{
	"dpdk": {
		"log_level": {22, 0}, "channel": always, "memory": always, "no_huge": always,
		"lcore_mask": always, "base_virtaddr": always, "file_prefix": always,
		"pci_whitelist": {0, 24}, "allow": {25, 0},
		"port_list": always, "nb_vdev": always, "nb_bond": always, "promiscuous": always,
		"numa_on": always, "tso": always, "tx_csum_offoad_skip": always, "vlan_strip": always,
		"vlan_filter": {24, 0}, "idle_sleep": always, "pkt_tx_delay": always, "symmetric_rss": always,
		"fstack_log_level": {25, 0}, "fstack_log_file_prefix": {25, 0},
	},
	"port": {
		"addr": always, "netmask": always, "broadcast": always, "gateway": always,
		"lcore_list": always, "slave_port_list": always, "pcap": {0, 21},
		"if_name": {22, 0}, "vip_addr": {22, 0}, "vip_ifname": {22, 0}, "ipfw_pr": {24, 0},
		"addr6": always, "prefix_len": always, "gateway6": always,
		"vip_addr6": {22, 0}, "vip_prefix_len": {22, 0},
	},
	"vlan": {
		"portid": always, "addr": always, "netmask": always, "broadcast": always, "gateway": always,
		"vip_addr": always, "ipfw_pr": always, "addr6": always, "prefix_len": always,
		"gateway6": always, "vip_addr6": always, "vip_prefix_len": always,
	},
	"vdev": {"iface": always, "path": always, "queues": always, "queue_size": always, "mac": always, "cq": always},
	"bond": {
		"mode": always, "slave": always, "primary": always, "socket_id": always, "mac": always,
		"xmit_policy": always, "lsc_poll_period_ms": always, "up_delay": always, "down_delay": always,
	},
	"kni": {
		"enable": always, "method": always, "tcp_port": always, "udp_port": always, "kni_action": always,
		"type": {24, 24}, "console_packets_ratelimit": {24, 0}, "general_packets_ratelimit": {24, 0},
		"kernel_packets_ratelimit": {24, 0},
	},
	"pcap":      {"enable": always, "snaplen": always, "savelen": always, "savepath": always},
	"rss_check": {"enable": always, "rss_tbl": always},
	// Any name is a boot tunable or a sysctl: nil means "every key".
	"freebsd.boot":   nil,
	"freebsd.sysctl": nil,
}

// sectionSince says which releases read a kind of section at all.
var sectionSince = map[string]since{
	"dpdk": always, "port": always, "vdev": always, "bond": always, "kni": always,
	"pcap": always, "freebsd.boot": always, "freebsd.sysctl": always,
	"vlan": {24, 0}, "rss_check": {25, 0},
}

var numbered = regexp.MustCompile(`^(port|vlan|vdev|bond)(\d+)$`)

// kindOf maps a section name to its kind ("port3" -> "port", 3); ok is false
// for a section F-Stack does not read.
func kindOf(section string) (kind string, n int, ok bool) {
	if m := numbered.FindStringSubmatch(section); m != nil {
		n, _ = strconv.Atoi(m[2])
		return m[1], n, true
	}
	if _, ok := sectionSince[section]; ok {
		return section, -1, true
	}
	return "", -1, false
}

// Known reports whether release v acts on key in section.
func (v Version) Known(section, key string) bool {
	kind, _, ok := kindOf(section)
	if !ok || !sectionSince[kind].in(v) {
		return false
	}
	keys := sectionKeys[kind]
	if keys == nil {
		return true
	}
	s, ok := keys[key]
	return ok && s.in(v)
}

// KnownSection reports whether release v reads a section of that name.
func (v Version) KnownSection(section string) bool {
	kind, _, ok := kindOf(section)
	return ok && sectionSince[kind].in(v)
}

// Keys lists the keys release v reads in a section, sorted; nil for the
// free-form freebsd sections.
func (v Version) Keys(section string) []string {
	kind, _, ok := kindOf(section)
	if !ok {
		return nil
	}
	var out []string
	for k, s := range sectionKeys[kind] {
		if s.in(v) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// readBy names the releases that read key in a kind of section, for messages.
func readBy(kind, key string) (since, bool) {
	s, ok := sectionKeys[kind][key]
	return s, ok
}

func (s since) String() string {
	switch {
	case s.until == 0:
		return fmt.Sprintf("F-Stack 1.%d and later", max(s.from, Oldest.Minor))
	case s.from == s.until || (s.from <= Oldest.Minor && s.until == Oldest.Minor):
		return fmt.Sprintf("F-Stack 1.%d only", s.until)
	case s.from <= Oldest.Minor:
		return fmt.Sprintf("F-Stack 1.%d and earlier", s.until)
	}
	return fmt.Sprintf("F-Stack 1.%d to 1.%d", s.from, s.until)
}

// nearest is the known key closest to key by edit distance, "" if none is
// close (more than a third of the name differs).
func nearest(key string, known []string) string {
	best, bestD := "", len(key)/3+2
	for _, k := range known {
		if d := editDistance(key, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
