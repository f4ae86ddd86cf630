package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/photonctl/photonctl/pkg/fstackconf"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/lab/templates"
	"github.com/photonctl/photonctl/pkg/runner"
)

// Distros lists the distros a lab root can be made for.
func Distros() []string { return templates.Distros() }

// Defaults of a lab.
const (
	DefaultDir    = host.StateDir + "/lab"
	DefaultPrefix = "photon-lab"
	DefaultDistro = "centos7"
)

// Config says what lab to build.
type Config struct {
	// Dir holds the lab's state file and its host root (Dir/root); a host
	// path, under the machine root.
	Dir string
	// Prefix names the namespaces (<prefix>-a, <prefix>-b).
	Prefix string
	// VethA and VethB name the veth ends (at most 15 bytes).
	VethA, VethB string
	// AddrA and AddrB are the ends' addresses with prefix length.
	AddrA, AddrB string
	Distro       string
	// Engine is the dataplane the lab is for: "kernel" (the veth end in
	// namespace A has AddrA) or "fstack" (the end is in a bridge that the
	// DPDK tap device joins, and F-Stack owns AddrA).
	Engine string
	// FstackVersion is the F-Stack release the lab's f-stack.conf is for
	// (the caller resolves it with fstackconf.ResolveVersion).
	FstackVersion string
}

// Engines a lab can be built for.
const (
	EngineKernel = "kernel"
	EngineFstack = "fstack"
)

// Bridge is the bridge in namespace A of an fstack lab.
const Bridge = "plab-br"

// ConfPath is the lab's f-stack.conf, under its host root.
const ConfPath = "/etc/f-stack.conf"

// DefaultConfig is the lab `photonctl lab up` builds.
func DefaultConfig() Config {
	return Config{Dir: DefaultDir, Prefix: DefaultPrefix, VethA: "plab-a", VethB: "plab-b",
		AddrA: "10.99.0.1/24", AddrB: "10.99.0.2/24", Distro: DefaultDistro, Engine: EngineKernel}
}

// State is what a lab created, so that Down removes exactly that.
type State struct {
	Schema     int       `json:"schema"`
	Distro     string    `json:"distro"`
	Root       string    `json:"root"` // the lab host root, a host path
	Namespaces []string  `json:"namespaces"`
	VethA      string    `json:"veth_a"`
	VethB      string    `json:"veth_b"`
	AddrA      string    `json:"addr_a"`
	AddrB      string    `json:"addr_b"`
	Binds      []string  `json:"binds"` // mount points under Root
	Hugepages  []Saved   `json:"hugepages"`
	Created    time.Time `json:"created"`
	Engine     string    `json:"engine"`
	// Bridge and Conf are set in an fstack lab: the bridge the tap device
	// joins, and the f-stack.conf (a host path) run echo takes.
	Bridge string `json:"bridge,omitempty"`
	Conf   string `json:"conf,omitempty"`
}

// Saved is a sysfs value the lab puts back when it goes down.
type Saved struct {
	Path  string `json:"path"`
	Value string `json:"value"`
}

// NamespaceA is the namespace of the lab's first end (the dataplane's).
func (s *State) NamespaceA() string { return s.Namespaces[0] }

// NamespaceB is the namespace of the second end (the client's).
func (s *State) NamespaceB() string { return s.Namespaces[1] }

// ErrNotUp is returned when there is no lab to act on.
var ErrNotUp = errors.New("no lab is up")

// Lab is a lab on one machine.
type Lab struct {
	h   *host.Host // the machine, normally "/"
	run runner.Runner
	cfg Config
	// mount and unmount do the bind mounts; tests may replace them.
	mount   func(src, dst string) error
	unmount func(dst string) error
}

// New returns the lab of cfg on the machine h, running ip through run.
func New(h *host.Host, run runner.Runner, cfg Config) *Lab {
	return &Lab{h: h, run: run, cfg: cfg, mount: bindMount, unmount: detach}
}

func (l *Lab) statePath() string { return filepath.Join(l.cfg.Dir, "lab.json") }

// Root is the lab host root, as a host path.
func (l *Lab) Root() string { return filepath.Join(l.cfg.Dir, "root") }

// Load reads the lab's state; ErrNotUp when there is none.
func (l *Lab) Load() (*State, error) {
	b, err := l.h.ReadFile(l.statePath())
	if host.IsNotExist(err) {
		return nil, ErrNotUp
	}
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s is damaged (%v); remove what it names by hand", l.statePath(), err)
	}
	return &s, nil
}

func (l *Lab) save(s *State) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return host.WriteOwnFile(l.h, l.statePath(), append(b, '\n'))
}

func (l *Lab) ip(ctx context.Context, args ...string) error {
	_, err := l.run.Run(ctx, append([]string{"ip"}, args...)...)
	return err
}

// nsExists reports whether a named network namespace exists.
func (l *Lab) nsExists(name string) bool {
	return l.h.Exists("/run/netns/"+name) || l.h.Exists("/var/run/netns/"+name)
}

// Up builds the lab. A lab already up is left as it is and returned. On any
// failure, what was built so far is removed again.
func (l *Lab) Up(ctx context.Context) (st *State, err error) {
	if s, err := l.Load(); err == nil {
		return s, nil
	} else if !errors.Is(err, ErrNotUp) {
		return nil, err
	}
	c := l.cfg
	if !templates.Has(c.Distro) {
		return nil, fmt.Errorf("unknown distro %q; give one of %s", c.Distro, strings.Join(Distros(), ", "))
	}
	if c.Engine == "" {
		c.Engine = EngineKernel
	}
	var fsConf []byte
	switch c.Engine {
	case EngineKernel:
	case EngineFstack:
		if c.FstackVersion == "" {
			rv, err := fstackconf.ResolveVersion(l.h, fstackconf.VersionQuery{FFPath: os.Getenv("FF_PATH")})
			if err != nil {
				return nil, err
			}
			c.FstackVersion = rv.Version.String()
		}
		if fsConf, err = labFstackConf(c); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown engine %q; give kernel or fstack", c.Engine)
	}
	nsA, nsB := c.Prefix+"-a", c.Prefix+"-b"
	for _, ns := range []string{nsA, nsB} {
		if l.nsExists(ns) {
			return nil, fmt.Errorf("network namespace %s exists but this lab did not create it; remove it (ip netns del %s) or pick another prefix", ns, ns)
		}
	}
	if l.h.Exists(l.Root()) {
		return nil, fmt.Errorf("%s exists but no lab state says photonctl made it; remove it by hand", l.Root())
	}
	if _, err := l.run.LookPath("ip"); err != nil {
		return nil, fmt.Errorf("the lab needs ip from iproute2 (apt-get install iproute2): %w", err)
	}
	s := &State{Schema: 1, Distro: c.Distro, Root: l.Root(), VethA: c.VethA, VethB: c.VethB, AddrA: c.AddrA, AddrB: c.AddrB,
		Created: time.Now().UTC(), Engine: c.Engine}
	defer func() {
		if err != nil {
			if derr := l.down(ctx, s); derr != nil {
				err = fmt.Errorf("%w; cleaning up what was built failed too: %v", err, derr)
			}
		}
	}()

	// The host root: private /etc and /boot, the machine's /sys, /proc, hugepages.
	root := l.h.Path(l.Root())
	if err := os.MkdirAll(root, 0o755); err != nil {
		return s, err
	}
	if err := l.save(s); err != nil {
		return s, err
	}
	if err := templates.Unpack(c.Distro, root); err != nil {
		return s, fmt.Errorf("writing the %s lab root: %w", c.Distro, err)
	}
	if fsConf != nil {
		s.Conf = filepath.Join(l.Root(), ConfPath)
		if err := host.WriteOwnFile(l.h, s.Conf, fsConf); err != nil {
			return s, fmt.Errorf("writing the lab's f-stack.conf: %w", err)
		}
	}
	for _, d := range []string{"/sys", "/proc", "/dev/hugepages"} {
		dst := filepath.Join(l.Root(), d)
		if err := os.MkdirAll(l.h.Path(dst), 0o755); err != nil {
			return s, err
		}
		if !l.h.Exists(d) {
			continue // no hugetlbfs folder on the machine: setup mounts one in the lab
		}
		if err := l.mount(l.h.Path(d), l.h.Path(dst)); err != nil {
			return s, fmt.Errorf("bind-mounting %s on %s: %w", d, dst, err)
		}
		s.Binds = append(s.Binds, dst)
		if err := l.save(s); err != nil {
			return s, err
		}
	}
	// Hugepage counts are real: remember them to put them back.
	pools, _ := l.h.Glob("/sys/kernel/mm/hugepages/hugepages-*kB/nr_hugepages")
	for _, p := range pools {
		if v, err := l.h.ReadString(p); err == nil {
			s.Hugepages = append(s.Hugepages, Saved{Path: p, Value: v})
		}
	}

	// The network: two namespaces and a veth pair between them.
	for _, ns := range []string{nsA, nsB} {
		if err := l.ip(ctx, "netns", "add", ns); err != nil {
			return s, err
		}
		s.Namespaces = append(s.Namespaces, ns)
		if err := l.save(s); err != nil {
			return s, err
		}
		if err := l.ip(ctx, "-n", ns, "link", "set", "lo", "up"); err != nil {
			return s, err
		}
	}
	if err := l.ip(ctx, "-n", nsA, "link", "add", c.VethA, "type", "veth", "peer", "name", c.VethB, "netns", nsB); err != nil {
		return s, err
	}
	ends := []struct{ ns, dev, addr string }{{nsA, c.VethA, c.AddrA}, {nsB, c.VethB, c.AddrB}}
	if c.Engine == EngineFstack {
		// F-Stack owns AddrA: the kernel's end goes into a bridge, which
		// run echo --tap-bridge joins DPDK's tap device to.
		ends[0].addr = ""
		s.Bridge = Bridge
		for _, args := range [][]string{
			{"-n", nsA, "link", "add", Bridge, "type", "bridge"},
			{"-n", nsA, "link", "set", c.VethA, "master", Bridge},
			{"-n", nsA, "link", "set", Bridge, "up"},
		} {
			if err := l.ip(ctx, args...); err != nil {
				return s, err
			}
		}
	}
	for _, e := range ends {
		if e.addr != "" {
			if err := l.ip(ctx, "-n", e.ns, "addr", "add", e.addr, "dev", e.dev); err != nil {
				return s, err
			}
		}
		if err := l.ip(ctx, "-n", e.ns, "link", "set", e.dev, "up"); err != nil {
			return s, err
		}
	}
	return s, l.save(s)
}

// Down removes the lab: namespaces (and with them the veth pair), every mount
// under the lab root, the lab folder, and puts the hugepage counts back.
func (l *Lab) Down(ctx context.Context) error {
	s, err := l.Load()
	if err != nil {
		return err
	}
	return l.down(ctx, s)
}

func (l *Lab) down(ctx context.Context, s *State) error {
	var errs []error
	for _, ns := range s.Namespaces {
		if l.nsExists(ns) {
			if err := l.ip(ctx, "netns", "del", ns); err != nil {
				errs = append(errs, err)
			}
		}
	}
	// Everything mounted under the lab root: the binds, and a hugetlbfs that
	// setup mounted in the lab; deepest first.
	for _, m := range l.mountsUnder(s.Root) {
		if err := l.unmount(l.h.Path(m)); err != nil {
			errs = append(errs, fmt.Errorf("unmounting %s: %w", m, err))
		}
	}
	for _, sv := range s.Hugepages {
		if _, err := l.h.WriteSysfs(ctx, sv.Path, sv.Value, 0); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if left := l.mountsUnder(s.Root); len(left) > 0 {
		return fmt.Errorf("still mounted under the lab: %s; not removing %s", strings.Join(left, ", "), l.cfg.Dir)
	}
	if err := os.RemoveAll(l.h.Path(s.Root)); err != nil {
		return err
	}
	if err := os.Remove(l.h.Path(l.statePath())); err != nil && !os.IsNotExist(err) {
		return err
	}
	os.Remove(l.h.Path(l.cfg.Dir)) // only if empty: the folder may hold more than the lab
	return nil
}

// mountsUnder lists the mount points at or under dir (host paths), deepest
// first, from the machine's /proc/self/mounts.
func (l *Lab) mountsUnder(dir string) []string {
	b, err := l.h.ReadFile("/proc/self/mounts")
	if err != nil {
		return nil
	}
	full := l.h.Path(dir)
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		if f[1] == full || strings.HasPrefix(f[1], full+"/") {
			out = append(out, l.h.Rel(f[1]))
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// Problem is something wrong with a lab that is up.
type Problem string

// Check says what of a lab that is up is missing.
func (l *Lab) Check(s *State) []Problem {
	var out []Problem
	for _, ns := range s.Namespaces {
		if !l.nsExists(ns) {
			out = append(out, Problem("network namespace "+ns+" is gone"))
		}
	}
	mounted := map[string]bool{}
	for _, m := range l.mountsUnder(s.Root) {
		mounted[m] = true
	}
	for _, b := range s.Binds {
		if !mounted[b] {
			out = append(out, Problem(b+" is not mounted"))
		}
	}
	return out
}

// labFstackConf renders the f-stack.conf of an fstack lab: DPDK's tap device
// and, beside it, a PCI address no machine has, so that DPDK's PCI bus has an
// allow-list and probes none of the machine's own devices; [port0] on the
// lab subnet with the other end as gateway; ordinary memory (no_huge), which
// the tap device is fine with; photonctl's file prefix.
func labFstackConf(c Config) ([]byte, error) {
	a, err := netip.ParsePrefix(c.AddrA)
	if err != nil {
		return nil, fmt.Errorf("lab address %q: %w", c.AddrA, err)
	}
	b, err := netip.ParsePrefix(c.AddrB)
	if err != nil || !a.Masked().Contains(b.Addr()) || !a.Addr().Is4() {
		return nil, fmt.Errorf("lab addresses %s and %s must be IPv4 in one subnet", c.AddrA, c.AddrB)
	}
	mask := net.CIDRMask(a.Bits(), 32)
	ip := a.Addr().As4()
	bcast := make(net.IP, 4)
	for i := range bcast {
		bcast[i] = ip[i] | ^mask[i]
	}
	return fstackconf.RenderLab(c.FstackVersion, []string{"net_tap0", "0000:ff:1f.7"},
		a.Addr().String(), net.IP(mask).String(), bcast.String(), b.Addr().String(), "1",
		map[string]string{"dpdk:no_huge": "1", "dpdk:memory": "512", "dpdk:file_prefix": "photonctl", "dpdk:idle_sleep": "0",
			"dpdk:numa_on": "0", "dpdk:vlan_strip": "0"})
}
