package fstackconf

import (
	"fmt"
	"math/big"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// Check validates f against release v's key set and reports every problem at
// once, in line order. online is the host's CPUs (nil: lcore_mask is not
// compared with a host).
func Check(f *File, v Version, online CPUSet) []Problem {
	c := &checker{f: f, v: v}
	c.keys()
	c.ports()
	c.addresses()
	c.lcores(online)
	c.ranges()
	sort.SliceStable(c.probs, func(i, j int) bool { return c.probs[i].Line < c.probs[j].Line })
	return c.probs
}

type checker struct {
	f     *File
	v     Version
	probs []Problem
}

func (c *checker) add(l *Line, format string, a ...any) {
	n := 0
	if l != nil {
		n = c.f.LineNo(l)
	}
	c.probs = append(c.probs, Problem{Line: n, Msg: fmt.Sprintf(format, a...)})
}

var plainSections = []string{"dpdk", "kni", "pcap", "freebsd.boot", "freebsd.sysctl", "rss_check", "port0", "vlan0", "vdev0", "bond0"}

func (c *checker) keys() {
	type at struct {
		section, key string
	}
	first := map[at]*Line{}
	badSection := map[string]bool{}
	for _, l := range c.f.Lines {
		switch l.Kind {
		case Header:
			kind, _, ok := kindOf(l.Section)
			switch {
			case !ok:
				badSection[l.Section] = true
				if near := nearest(l.Section, plainSections); near != "" {
					c.add(l, "[%s]: F-Stack reads [%s]", l.Section, near)
				} else {
					c.add(l, "[%s]: F-Stack %s reads no such section; it ignores every key in it", l.Section, c.v)
				}
			case !sectionSince[kind].in(c.v):
				badSection[l.Section] = true
				c.add(l, "[%s]: read by %s, not by %s; it would be ignored", l.Section, sectionSince[kind], c.v)
			}
		case Pair:
			key := l.Key()
			if l.Section == "" {
				c.add(l, "`%s` comes before any [section]: F-Stack ignores it", key)
				continue
			}
			if prev, ok := first[at{l.Section, key}]; ok {
				c.add(l, "`%s` again in [%s] (first at line %d): F-Stack takes the last one; keep one", key, l.Section, c.f.LineNo(prev))
			} else {
				first[at{l.Section, key}] = l
			}
			if badSection[l.Section] || c.v.Known(l.Section, key) {
				continue
			}
			kind, _, _ := kindOf(l.Section)
			if kind == "dpdk" && (key == "allow" || key == "pci_whitelist") {
				c.add(l, "`%s`: F-Stack %s reads the PCI allow-list from `%s`; rename the key", key, c.v, c.v.AllowKey())
				continue
			}
			if s, ok := readBy(kind, key); ok {
				c.add(l, "`%s`: read by %s, not by %s; it would be ignored", key, s, c.v)
				continue
			}
			if near := nearest(key, c.v.Keys(l.Section)); near != "" {
				c.add(l, "`%s`: F-Stack reads `%s`", key, near)
				continue
			}
			c.add(l, "`%s`: F-Stack %s ignores this key in [%s]", key, c.v, l.Section)
		}
	}
}

// ParseList reads F-Stack's list syntax ("0", "0-3", "1-3,4,7").
func ParseList(s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, fmt.Errorf("%q is not a number or a range such as 0-3", part)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("%q is not a range such as 0-3", part)
			}
		}
		if b-a > 4096 {
			return nil, fmt.Errorf("%q is too long a range", part)
		}
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
	}
	return out, nil
}

var requiredPortKeys = []string{"addr", "netmask", "broadcast", "gateway"}

func (c *checker) ports() {
	pl := c.f.Lookup("dpdk", "port_list")
	inList := map[int]bool{}
	if pl != nil {
		ports, err := ParseList(pl.Value())
		if err != nil {
			c.add(pl, "port_list: %v", err)
		}
		for _, p := range ports {
			inList[p] = true
		}
	}
	have := map[int]bool{}
	for _, l := range c.f.Lines {
		if l.Kind != Header {
			continue
		}
		kind, n, _ := kindOf(l.Section)
		if kind != "port" {
			continue
		}
		have[n] = true
		switch {
		case pl == nil:
			c.add(l, "[%s]: [dpdk] has no port_list, so F-Stack uses no port; add port_list=%d", l.Section, n)
		case c.f.LineNo(pl) > c.f.LineNo(l):
			c.add(pl, "port_list comes after [%s] (line %d): F-Stack has not read it yet when it reads the port; put [dpdk] first", l.Section, c.f.LineNo(l))
		case !inList[n]:
			c.add(l, "[%s]: port %d is not in port_list=%s; F-Stack ignores this section", l.Section, n, pl.Value())
		}
		if !inList[n] {
			continue
		}
		for _, k := range requiredPortKeys {
			if c.f.Lookup(l.Section, k) == nil {
				c.add(l, "[%s] lacks %s, which F-Stack needs", l.Section, k)
			}
		}
	}
	if pl != nil {
		ports, _ := ParseList(pl.Value())
		for _, p := range ports {
			if !have[p] {
				c.add(pl, "port_list names port %d, which has no [port%d] section", p, p)
			}
		}
	}
}

func (c *checker) addresses() {
	for _, name := range c.f.Sections() {
		kind, _, _ := kindOf(name)
		if kind != "port" && kind != "vlan" {
			continue
		}
		get := func(k string) (*Line, netip.Addr, bool) {
			l := c.f.Lookup(name, k)
			if l == nil {
				return nil, netip.Addr{}, false
			}
			a, err := netip.ParseAddr(l.Value())
			if err != nil || !a.Is4() {
				c.add(l, "[%s] %s=%s is not an IPv4 address", name, k, l.Value())
				return l, a, false
			}
			return l, a, true
		}
		for _, k := range []string{"addr6", "gateway6"} {
			if l := c.f.Lookup(name, k); l != nil {
				if a, err := netip.ParseAddr(l.Value()); err != nil || !a.Is6() || a.Is4In6() {
					c.add(l, "[%s] %s=%s is not an IPv6 address", name, k, l.Value())
				}
			}
		}
		al, addr, okA := get("addr")
		ml, mask, okM := get("netmask")
		bl, bcast, okB := get("broadcast")
		gl, gw, okG := get("gateway")
		_ = al
		if !okM {
			continue
		}
		bits, ok := maskBits(mask)
		if !ok {
			c.add(ml, "[%s] netmask=%s is not a netmask (its ones must come first)", name, ml.Value())
			continue
		}
		if !okA {
			continue
		}
		prefix := netip.PrefixFrom(addr, bits).Masked()
		if okG && !prefix.Contains(gw) {
			c.add(gl, "[%s] gateway %s is not in %s, the subnet of addr %s with netmask %s", name, gw, prefix, addr, mask)
		}
		if okB {
			if want := Broadcast(prefix); bcast != want {
				c.add(bl, "[%s] broadcast %s does not match addr %s with netmask %s: want %s", name, bcast, addr, mask, want)
			}
		}
	}
}

// maskBits turns a dotted netmask into its prefix length.
func maskBits(m netip.Addr) (int, bool) {
	b := m.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	ones := 0
	for v&0x80000000 != 0 {
		ones++
		v <<= 1
	}
	return ones, v == 0
}

// Broadcast is the broadcast address of an IPv4 prefix.
func Broadcast(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	host := uint32(0xffffffff) >> p.Bits()
	if p.Bits() == 32 {
		host = 0
	}
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// Netmask is the dotted netmask of a prefix length.
func Netmask(bits int) netip.Addr {
	v := ^(uint32(0xffffffff) >> bits)
	if bits == 0 {
		v = 0
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// ParseMask reads an lcore_mask (hex, with or without 0x) into CPU numbers.
func ParseMask(s string) ([]int, error) {
	h := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "0x"), "0X")
	n, ok := new(big.Int).SetString(h, 16)
	if h == "" || !ok {
		return nil, fmt.Errorf("%q is not a hexadecimal CPU mask such as 2 (CPU 1) or 0x6 (CPUs 1 and 2)", s)
	}
	var cpus []int
	for i := 0; i < n.BitLen(); i++ {
		if n.Bit(i) == 1 {
			cpus = append(cpus, i)
		}
	}
	if len(cpus) == 0 {
		return nil, fmt.Errorf("%q names no CPU", s)
	}
	return cpus, nil
}

// MaskOf is the lcore_mask naming cpus.
func MaskOf(cpus []int) string {
	n := new(big.Int)
	for _, c := range cpus {
		n.SetBit(n, c, 1)
	}
	return n.Text(16)
}

func (c *checker) lcores(online CPUSet) {
	l := c.f.Lookup("dpdk", "lcore_mask")
	if l == nil {
		c.add(nil, "[dpdk] has no lcore_mask: F-Stack needs the CPUs to run on; add lcore_mask=2 (CPU 1)")
		return
	}
	cpus, err := ParseMask(l.Value())
	if err != nil {
		c.add(l, "lcore_mask: %v", err)
		return
	}
	if online == nil {
		return
	}
	var missing []string
	for _, cpu := range cpus {
		if !online[cpu] {
			missing = append(missing, strconv.Itoa(cpu))
		}
	}
	if len(missing) > 0 {
		c.add(l, "lcore_mask=%s names CPU %s, which this host lacks (online: %s)", l.Value(), strings.Join(missing, ","), online)
	}
}

// intRange is the range of values an integer key takes.
type intRange struct{ lo, hi int64 }

var ranges = map[string]map[string]intRange{
	"dpdk": {
		"log_level": {0, 8}, "fstack_log_level": {0, 8}, "channel": {1, 32}, "memory": {1, 1 << 24},
		"no_huge": {0, 1}, "nb_vdev": {0, 32}, "nb_bond": {0, 32}, "promiscuous": {0, 1}, "numa_on": {0, 1},
		"tso": {0, 1}, "tx_csum_offoad_skip": {0, 1}, "vlan_strip": {0, 1}, "symmetric_rss": {0, 1},
		"idle_sleep": {0, 1000000}, "pkt_tx_delay": {0, 100},
	},
	"port":      {"prefix_len": {0, 128}, "vip_prefix_len": {0, 128}},
	"vlan":      {"portid": {0, 1023}, "prefix_len": {0, 128}, "vip_prefix_len": {0, 128}},
	"kni":       {"enable": {0, 1}},
	"pcap":      {"enable": {0, 1}, "snaplen": {1, 65535}, "savelen": {1, 1 << 32}},
	"rss_check": {"enable": {0, 1}},
	"bond":      {"mode": {0, 6}},
	"freebsd.boot": {
		"hz": {1, 100000}, "fd_reserve": {0, 1 << 20}, "memsz_MB": {1, 1 << 24}, "physmem": {1, 1 << 50},
	},
}

func (c *checker) ranges() {
	for _, l := range c.f.Lines {
		if l.Kind != Pair {
			continue
		}
		kind, _, _ := kindOf(l.Section)
		r, ok := ranges[kind][l.Key()]
		if !ok || !c.v.Known(l.Section, l.Key()) {
			continue
		}
		n, err := strconv.ParseInt(l.Value(), 10, 64)
		if err != nil {
			c.add(l, "%s=%s is not a whole number; give %d to %d", l.Key(), l.Value(), r.lo, r.hi)
			continue
		}
		if n < r.lo || n > r.hi {
			c.add(l, "%s=%d is out of range: give %d to %d", l.Key(), n, r.lo, r.hi)
		}
	}
}

func maskBitsString(s string) (int, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return 0, false
	}
	return maskBits(a)
}
