package fstackconf

import (
	"net/netip"
	"slices"
	"strings"
)

// SameValue reports whether two values of key in section mean the same to
// F-Stack, so that an edit leaves the line alone: PCI addresses with and
// without their domain or in another case (03:00.0 is 0000:03:00.0),
// masks and port lists naming the same CPUs and ports, and IP addresses
// written two ways (2001:db8::1 is 2001:DB8:0::1).
func SameValue(section, key, a, b string) bool {
	if a == b {
		return true
	}
	kind, _, _ := kindOf(section)
	switch {
	case kind == "dpdk" && (key == "allow" || key == "pci_whitelist"):
		return slices.Equal(normAllow(a), normAllow(b))
	case kind == "dpdk" && key == "lcore_mask":
		x, err1 := ParseMask(a)
		y, err2 := ParseMask(b)
		return err1 == nil && err2 == nil && slices.Equal(sorted(x), sorted(y))
	case kind == "dpdk" && key == "port_list":
		x, err1 := ParseList(a)
		y, err2 := ParseList(b)
		return err1 == nil && err2 == nil && slices.Equal(sorted(x), sorted(y))
	case kind == "port" && (key == "addr" || key == "netmask" || key == "broadcast" || key == "gateway" || key == "addr6" || key == "gateway6"):
		x, err1 := netip.ParseAddr(strings.TrimSpace(a))
		y, err2 := netip.ParseAddr(strings.TrimSpace(b))
		return err1 == nil && err2 == nil && x == y
	}
	return false
}

// normAllow is an allow-list with every PCI address in full, lower case.
func normAllow(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ",") {
		a = strings.TrimSpace(a)
		if IsVdev(a) {
			out = append(out, a)
			continue
		}
		out = append(out, FullPCI(a))
	}
	return out
}

func sorted(x []int) []int {
	y := slices.Clone(x)
	slices.Sort(y)
	return slices.Compact(y)
}
