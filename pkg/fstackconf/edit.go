package fstackconf

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/photonctl/photonctl/pkg/spec"
)

// Edit is one key an edit changed: the line before and after ("" where the
// key was not there, or is gone).
type Edit struct {
	Section, Key  string
	Before, After string
	// Line is the key's line in the edited file (0 for a key taken away).
	Line int
}

// editor records the edits it makes to a file.
type editor struct {
	f     *File
	edits []Edit
}

func (e *editor) line(section, key string) string {
	if l := e.f.Lookup(section, key); l != nil {
		return l.Raw
	}
	return ""
}

func (e *editor) set(section, key, value string) {
	before := e.line(section, key)
	if e.f.Set(section, key, value) {
		e.edits = append(e.edits, Edit{section, key, before, e.line(section, key), 0})
	}
}

func (e *editor) del(section, key string) {
	before := e.line(section, key)
	if e.f.Delete(section, key) {
		e.edits = append(e.edits, Edit{section, key, before, "", 0})
	}
}

// setAllow writes the allow-list under the release's key. A list under the
// other release's key is renamed in place, so that it keeps its spot and
// any comment beside it.
func (e *editor) setAllow(v Version, allow []string) {
	want, other := v.AllowKey(), "allow"
	if want == "allow" {
		other = "pci_whitelist"
	}
	if len(allow) == 0 {
		e.del("dpdk", want)
		e.del("dpdk", other)
		return
	}
	if e.f.Lookup("dpdk", want) == nil && e.f.Lookup("dpdk", other) != nil {
		before := e.line("dpdk", other)
		e.f.Rename("dpdk", other, want)
		e.edits = append(e.edits, Edit{"dpdk", other, before, "", 0})
		e.edits = append(e.edits, Edit{"dpdk", want, "", e.line("dpdk", want), 0})
	}
	e.del("dpdk", other)
	e.set("dpdk", want, strings.Join(allow, ","))
}

// Fill changes f the way setup does for the host facts and the spec: the
// allow-list under v's key, lcore_mask (only when the file's names a CPU that
// is offline, off the PF's NUMA node, or CPU 0 when the node has others), port 0 in port_list, pkt_tx_delay=0,
// [port0] from the PF (or fstack_addr), IPv6 and low-latency keys when
// asked, and memory for F-Stack's pools (NeedMemory) unless the file's is
// already as large. Every other line stays as it was.
func Fill(f *File, v Version, facts *Facts, s spec.Spec) []Edit {
	e := &editor{f: f}
	e.setAllow(v, facts.Allow())
	if !maskFits(f, facts) {
		e.set("dpdk", "lcore_mask", facts.LcoreMask)
	}
	ensurePort0(e)
	e.set("dpdk", "pkt_tx_delay", "0")
	if s.LowLatency {
		e.set("dpdk", "idle_sleep", "0")
		e.set("freebsd.sysctl", "net.inet.tcp.delayed_ack", "0")
	}
	e.set("port0", "addr", facts.Addr)
	e.set("port0", "netmask", facts.Netmask)
	e.set("port0", "broadcast", facts.Broadcast)
	e.set("port0", "gateway", facts.Gateway)
	if s.IPv6 && facts.Addr6 != "" {
		e.set("port0", "addr6", facts.Addr6)
		e.set("port0", "prefix_len", fmt.Sprint(facts.Prefix6))
		if facts.Gateway6 != "" {
			e.set("port0", "gateway6", facts.Gateway6)
		}
	}
	if need := memoryOf(f, pageKB(s)); fileMemory(f) < need.MB {
		e.set("dpdk", "memory", strconv.Itoa(need.MB))
	}
	for i, ed := range e.edits {
		if l := f.Lookup(ed.Section, ed.Key); l != nil && ed.After != "" {
			e.edits[i].Line = f.LineNo(l)
		}
	}
	return e.edits
}

func ensurePort0(e *editor) {
	cur, ok := e.f.Get("dpdk", "port_list")
	if !ok {
		e.set("dpdk", "port_list", "0")
		return
	}
	ports, err := ParseList(cur)
	if err != nil || !slices.Contains(ports, 0) {
		if err != nil || cur == "" {
			e.set("dpdk", "port_list", "0")
		} else {
			e.set("dpdk", "port_list", "0,"+cur)
		}
	}
}

// maskFits reports whether the file's lcore_mask names only online CPUs of
// the PF's NUMA node, and not CPU 0 when the node has others: a hand-picked
// mask that fits is left alone.
func maskFits(f *File, facts *Facts) bool {
	cur, ok := f.Get("dpdk", "lcore_mask")
	if !ok {
		return false
	}
	cpus, err := ParseMask(cur)
	if err != nil {
		return false
	}
	for _, c := range cpus {
		if !facts.NodeCPUs[c] || (c == 0 && len(facts.NodeCPUs) > 1) {
			return false
		}
	}
	return true
}

// pageKB is the hugepage size of the spec (the hugepages step's), in kB.
func pageKB(s spec.Spec) int {
	kb, err := spec.HugepageKB(s.HugepageSize)
	if err != nil {
		return 2048
	}
	return kb
}

// New returns photonctl's template, parsed.
func New() *File {
	f, err := ParseBytes([]byte(template))
	if err != nil {
		panic("fstackconf: the built-in template does not parse: " + err.Error())
	}
	return f
}

// RenderLab renders a config for the lab: photonctl's template for release
// version with the given allow-list (none for a vdev-only lab), [port0]
// addresses and lcore_mask, pkt_tx_delay=0, and extra keys given as
// "section:key" (for example "freebsd.sysctl:net.inet.tcp.delayed_ack"),
// applied in sorted order; an empty value removes the key. vlan_filter is
// never written (the DPDK tap PMD has no VLAN filter). The result is checked
// against the release's key set.
func RenderLab(version string, allow []string, addr, netmask, broadcast, gateway, lcoreMask string, extra map[string]string) ([]byte, error) {
	v, err := ParseVersion(version)
	if err != nil {
		return nil, err
	}
	for _, a := range allow {
		if !IsAllowListDevice(a) {
			return nil, fmt.Errorf("allow-list: %q is not a PCI address such as 0000:03:00.0, nor a DPDK virtual device such as net_tap0", a)
		}
	}
	f := New()
	e := &editor{f: f}
	e.setAllow(v, allow)
	e.set("dpdk", "lcore_mask", lcoreMask)
	e.set("dpdk", "pkt_tx_delay", "0")
	e.set("port0", "addr", addr)
	e.set("port0", "netmask", netmask)
	e.set("port0", "broadcast", broadcast)
	e.set("port0", "gateway", gateway)
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		sec, key, ok := strings.Cut(k, ":")
		if !ok || sec == "" || key == "" {
			return nil, fmt.Errorf("extra key %q: write it as section:key, such as dpdk:no_huge", k)
		}
		if sec == "dpdk" && key == "vlan_filter" {
			continue
		}
		if extra[k] == "" {
			e.del(sec, key)
		} else {
			e.set(sec, key, extra[k])
		}
	}
	out := f.Bytes()
	g, err := ParseBytes(out)
	if err != nil {
		return nil, fmt.Errorf("the lab config does not parse: %w", err)
	}
	if probs := Check(g, v, nil); len(probs) > 0 {
		msgs := make([]string, len(probs))
		for i, p := range probs {
			msgs[i] = p.String()
		}
		return nil, fmt.Errorf("the lab config has problems:\n%s", strings.Join(msgs, "\n"))
	}
	return out, nil
}
