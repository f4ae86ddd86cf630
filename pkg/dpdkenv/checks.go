package dpdkenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/photonctl/photonctl/pkg/doctor"
	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/spec"
)

// Check IDs.
const (
	IDDPDKVersion   = "dpdk-version"
	IDDPDKPCPath    = "dpdk-pkg-config-path"
	IDPkgConfig     = "pkg-config-version"
	IDLibfstack     = "libfstack"
	IDFlowIsolate   = "flow-isolate"
	IDMlx5Userspace = "mlx5-userspace"
	IDStaleFiles    = "dpdk-stale-files"
	IDLcores        = "lcores"
	IDProbe         = "testpmd-probe"
)

// Options are the inputs of the checks that do not come from the host spec.
type Options struct {
	// FFPath is F-Stack's source tree as a host path (the FF_PATH of its
	// build), or "" when unknown.
	FFPath string
	// Linked is the F-Stack and DPDK this photonctl carries (built with
	// the fstack tag), nil when it has none.
	Linked *Linked
}

// Linked is what a photonctl built with -tags fstack carries and loads:
// what its dataplane runs on, whatever the host has on disk (cmd/photonctl
// fills it from pkg/dataplane).
type Linked struct {
	Fstack      string // F-Stack release linked in ("1.24"), "" when the build did not stamp it
	BuiltFrom   string // the FF_PATH of the build, "" when not stamped
	FlowIsolate string // "yes": libfstack.a referenced rte_flow_isolate; "no"; "" when not stamped
	DPDK        string // the loaded DPDK's release ("22.11.11", from rte_version()), "" when unknown
	DPDKLib     string // the file of the loaded librte_eal, "" when unknown
}

// Checks are the DPDK toolchain checks, with FF_PATH taken from photonctl's
// environment.
func Checks() []doctor.Check {
	return ChecksWith(Options{FFPath: os.Getenv("FF_PATH")})
}

// onHost are the options for looking at the host's files: without FF_PATH,
// a photonctl with F-Stack linked in looks at the tree it was built from when
// this host has it, what a rebuild would use.
func (o Options) onHost(h *host.Host) Options {
	if o.FFPath == "" && o.Linked != nil && o.Linked.BuiltFrom != "" {
		if _, err := h.ReadDir(o.Linked.BuiltFrom); err == nil {
			o.FFPath = o.Linked.BuiltFrom
		}
	}
	return o
}

// ChecksWith are the DPDK toolchain checks with the options given.
func ChecksWith(o Options) []doctor.Check {
	g := doctor.GroupDPDK
	return []doctor.Check{
		{ID: IDDPDKVersion, Group: g, Run: func(ctx context.Context, env *engine.Env) []doctor.Result {
			return checkDPDK(ctx, env, o)
		}},
		{ID: IDPkgConfig, Group: g, Run: checkPkgConfig},
		{ID: IDLibfstack, Group: g, Run: func(ctx context.Context, env *engine.Env) []doctor.Result {
			return checkLibfstack(ctx, env, o)
		}},
		{ID: IDMlx5Userspace, Group: g, Run: checkMlx5},
		{ID: IDStaleFiles, Group: g, Run: checkStale},
		{ID: IDLcores, Group: g, Run: checkLcores},
	}
}

// skipUnreadable is the result for a file the user may not read.
func skipUnreadable(id, p string, err error) doctor.Result {
	return doctor.Result{ID: id, Status: doctor.Skip,
		Detail: fmt.Sprintf("not root: cannot read %s (%s); run photonctl doctor as root", p, reason(err))}
}

// reason is an error's last words ("permission denied"), without the path
// under the root that the os package puts in.
func reason(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// fstackConf reads f-stack.conf from the spec's path.
func fstackConf(h *host.Host, s spec.Spec) (string, []byte, error) {
	p := s.FstackConf
	if p == "" {
		p = spec.Default().FstackConf
	}
	b, err := h.ReadFile(p)
	return p, b, err
}

// allowList is the PCI devices f-stack.conf gives DPDK ([dpdk] pci_whitelist,
// or allow in newer F-Stack), in full form (0000:03:00.0).
func allowList(conf []byte) []string {
	v, ok := iniLookup(conf, "dpdk", "allow")
	if !ok {
		v, _ = iniLookup(conf, "dpdk", "pci_whitelist")
	}
	var out []string
	for _, t := range strings.Split(v, ",") {
		t = strings.TrimSpace(t)
		if !spec.IsPCIAddress(t) {
			continue
		}
		if len(t) == len("03:00.0") {
			t = "0000:" + t
		}
		out = append(out, strings.ToLower(t))
	}
	return out
}

// pciDevice is what sysfs says of one PCI device.
type pciDevice struct {
	Addr   string
	Vendor string // "0x15b3"
	Driver string // "mlx5_core", "" when unbound
	IsVF   bool
	Netdev []string
}

const vendorMellanox = "0x15b3"

func readPCIDevice(h *host.Host, addr string) (pciDevice, error) {
	d := pciDevice{Addr: addr}
	dir := "/sys/bus/pci/devices/" + addr
	v, err := h.ReadString(dir + "/vendor")
	if err != nil {
		return d, err
	}
	d.Vendor = strings.ToLower(v)
	if l, err := h.ReadLink(dir + "/driver"); err == nil {
		d.Driver = path.Base(l)
	}
	_, err = h.Lstat(dir + "/physfn")
	d.IsVF = err == nil
	if ents, err := h.ReadDir(dir + "/net"); err == nil {
		for _, e := range ents {
			d.Netdev = append(d.Netdev, e.Name())
		}
	}
	return d, nil
}

// describe is "0000:03:00.0 (mlx5_core, eth0)".
func (d pciDevice) describe() string {
	var parts []string
	if d.Driver != "" {
		parts = append(parts, d.Driver)
	} else {
		parts = append(parts, "vendor "+d.Vendor+", no driver")
	}
	parts = append(parts, d.Netdev...)
	return fmt.Sprintf("%s (%s)", d.Addr, strings.Join(parts, ", "))
}
