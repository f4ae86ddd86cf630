package dataplane

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/photonctl/photonctl/pkg/fstackconf"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/spec"
)

// FstackConf is what the fstack engine needs to know of f-stack.conf before
// ff_init reads it.
type FstackConf struct {
	// Sections maps "section" -> key -> value, as written.
	Sections map[string]map[string]string
}

// Get returns a key's value.
func (c *FstackConf) Get(section, key string) (string, bool) {
	v, ok := c.Sections[section][key]
	return v, ok
}

// ParseFstackConf reads f-stack.conf's ini syntax (as F-Stack's ini parser
// does: [section], key=value, ';' and '#' comments). It is only what
// preflight needs; pkg/fstackconf renders and checks the whole file.
func ParseFstackConf(r io.Reader) (*FstackConf, error) {
	c := &FstackConf{Sections: map[string]map[string]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	section := ""
	n := 0
	for sc.Scan() {
		n++
		l := strings.TrimSpace(sc.Text())
		if l == "" || l[0] == ';' || l[0] == '#' {
			continue
		}
		if l[0] == '[' {
			end := strings.IndexByte(l, ']')
			if end < 0 {
				return c, fmt.Errorf("line %d: %q: section without ']'", n, l)
			}
			section = strings.TrimSpace(l[1:end])
			if c.Sections[section] == nil {
				c.Sections[section] = map[string]string{}
			}
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			return c, fmt.Errorf("line %d: %q: want key=value", n, l)
		}
		if section == "" {
			return c, fmt.Errorf("line %d: %q: key before any [section]", n, l)
		}
		if i := strings.IndexAny(v, ";#"); i >= 0 {
			v = v[:i]
		}
		c.Sections[section][strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return c, sc.Err()
}

// DPDKPrefix is the file prefix DPDK runs with under this config: F-Stack
// passes --file-prefix=container-<file_prefix>, and DPDK's default is rte.
func (c *FstackConf) DPDKPrefix() string {
	if p, ok := c.Get("dpdk", "file_prefix"); ok && p != "" {
		return "container-" + p
	}
	return "rte"
}

// AllowList is the devices of pci_whitelist (1.24) or allow (1.25+).
func (c *FstackConf) AllowList() []string {
	var out []string
	for _, k := range []string{"pci_whitelist", "allow"} {
		if v, ok := c.Get("dpdk", k); ok {
			for _, d := range strings.Split(v, ",") {
				if d = strings.TrimSpace(d); d != "" {
					out = append(out, d)
				}
			}
		}
	}
	return out
}

// FstackVersion pins the F-Stack release whose config keys preflight checks
// against (set at build time with -ldflags "-X
// github.com/photonctl/photonctl/pkg/dataplane.FstackVersion=1.25"); empty,
// the release is resolved as every other command resolves it
// (fstackconf.ResolveVersion: the installed libfstack, else the key the
// config uses, else the installed DPDK's).
var FstackVersion = ""

// checkWithFstackconf runs pkg/fstackconf's checks (keys of the release,
// ports, addresses, lcore_mask against the online CPUs, ranges) and returns
// the release it checked for.
func checkWithFstackconf(h *host.Host, confPath string, b []byte) (fstackconf.Version, []string, error) {
	f, err := fstackconf.ParseBytes(b)
	if err != nil {
		return fstackconf.Version{}, nil, err
	}
	r, err := fstackconf.ResolveVersion(h, fstackconf.VersionQuery{Asked: FstackVersion, FFPath: os.Getenv("FF_PATH"), Conf: confPath, ConfData: b})
	if err != nil {
		return fstackconf.Version{}, nil, err
	}
	v := r.Version
	var online fstackconf.CPUSet
	if ob, err := h.ReadFile("/sys/devices/system/cpu/online"); err == nil {
		online, _ = fstackconf.ParseCPUList(ob)
	}
	var out []string
	for _, p := range fstackconf.Check(f, v, online) {
		out = append(out, p.String())
	}
	return v, out, nil
}

// Preflight checks, before ff_init, everything that would make ff_init end
// the process (it calls exit(1) on any error): the config file, its keys,
// hugepages, the allow-listed devices and the port. Each problem is an
// error wrapping ErrPreflight that says what to do.
func Preflight(h *host.Host, confPath string, port uint16) (*FstackConf, error) {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrPreflight, fmt.Sprintf(format, a...))
	}
	if os.Geteuid() != 0 && h.IsLive() {
		return nil, fail("the fstack engine needs root (DPDK maps hugepages and devices): run photonctl run echo as root")
	}
	b, err := os.ReadFile(confPath) // a user's argument, not a host path
	if err != nil {
		return nil, fail("reading F-Stack's config %s: %v; give --conf the f-stack.conf that photonctl setup wrote", confPath, err)
	}
	conf, err := ParseFstackConf(bytes.NewReader(b))
	if err != nil {
		return nil, fail("%s: %v", confPath, err)
	}
	if v, probs, err := checkWithFstackconf(h, confPath, b); err != nil {
		return conf, fail("%s: %v", confPath, err)
	} else if len(probs) > 0 {
		return conf, fail("%s does not suit F-Stack %s: %s; fix it (photonctl doctor --only fstackconf shows each fix)", confPath, v, strings.Join(probs, "; "))
	}
	for _, k := range [][2]string{{"dpdk", "lcore_mask"}, {"dpdk", "port_list"}, {"port0", "addr"}, {"port0", "netmask"}} {
		if v, ok := conf.Get(k[0], k[1]); !ok || v == "" {
			return conf, fail("%s: [%s] %s is missing; F-Stack cannot start without it (see docs/dataplane.md)", confPath, k[0], k[1])
		}
	}
	if a, _ := conf.Get("port0", "addr"); !parseIPv4(a).IsValid() {
		return conf, fail("%s: [port0] addr=%q is not an IPv4 address", confPath, a)
	}
	if v, _ := conf.Get("dpdk", "no_huge"); v != "1" {
		free, err := freeHugepages(h)
		if err != nil {
			return conf, fail("reading free hugepages: %v", err)
		}
		if free == 0 {
			return conf, fail("no free hugepages; reserve some with photonctl setup --hugepages N (and check photonctl doctor --only hugepages,dataplane for leftovers of a killed run)")
		}
	}
	devs := conf.AllowList()
	pci := 0
	for _, d := range devs {
		switch {
		case spec.IsPCIAddress(d):
			pci++
			full := d
			if strings.Count(d, ":") == 1 {
				full = "0000:" + d
			}
			if !h.Exists("/sys/bus/pci/devices/" + strings.ToLower(full)) {
				// A PCI address known not to exist may be there on purpose:
				// it keeps DPDK from probing every PCI device when the
				// real port is a virtual device (the lab's net_tap0).
				if len(devs) == 1 {
					return conf, fail("%s: allow-listed PCI device %s is not on this host (see lspci -D)", confPath, d)
				}
			}
		case fstackconf.IsVdev(d):
		default:
			return conf, fail("%s: allow-listed device %q is neither a PCI address (0000:03:00.0) nor a DPDK virtual device (net_tap0)", confPath, d)
		}
	}
	if len(devs) > 0 && pci == 0 {
		return conf, fail("%s: the allow-list has only virtual devices (%s), so DPDK would probe every PCI device, this host's own NICs included; add a PCI address that does not exist (such as 0000:ff:1f.7) to it", confPath, strings.Join(devs, ","))
	}
	if port != 0 {
		if busy, err := portListening(h, port); err == nil && busy {
			return conf, fail("TCP port %d is taken by a kernel socket (see ss -ltnp 'sport = :%d'); stop its owner or pick another --listen port", port, port)
		}
	}
	if p := conf.DPDKPrefix(); p != FilePrefix {
		if inUse := prefixesInUse(h); inUse[p] {
			return conf, fail("another DPDK process runs with file prefix %q; set [dpdk] file_prefix=photonctl in %s", p, confPath)
		}
	}
	return conf, nil
}

func parseIPv4(s string) netip.Addr {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return netip.Addr{}
	}
	return a
}

// freeHugepages sums free_hugepages over every page size.
func freeHugepages(h *host.Host) (int64, error) {
	files, err := h.Glob("/sys/kernel/mm/hugepages/hugepages-*/free_hugepages")
	if err != nil {
		return 0, err
	}
	if len(files) == 0 {
		return 0, fmt.Errorf("no %s: is hugetlbfs support in this kernel?", filepath.Dir(h.Path("/sys/kernel/mm/hugepages/x")))
	}
	var sum int64
	for _, f := range files {
		n, err := h.ReadInt(f)
		if err != nil {
			return 0, err
		}
		sum += n
	}
	return sum, nil
}

func portListening(h *host.Host, port uint16) (bool, error) {
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := h.ReadFile(f)
		if err != nil {
			continue
		}
		socks, err := ParseProcNetTCP(bytes.NewReader(b))
		if err != nil {
			return false, err
		}
		for _, s := range socks {
			if s.State == TCPListen && s.Local.Port() == port {
				return true, nil
			}
		}
	}
	return false, nil
}
