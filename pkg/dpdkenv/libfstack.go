package dpdkenv

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/photonctl/photonctl/pkg/doctor"
	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/fstackconf"
	"github.com/photonctl/photonctl/pkg/host"
)

// flowIsolateSym is what F-Stack references when built with FF_FLOW_ISOLATE
// (ff_dpdk_if.c puts the port into rte_flow isolated mode and adds a rule
// for TCP port 80).
const flowIsolateSym = "rte_flow_isolate"

// flowIsolatePort is the TCP port F-Stack's FF_FLOW_ISOLATE rule hard-codes.
const flowIsolatePort = 80

// libfstackPaths are where libfstack.a is looked for: FF_PATH's lib (where
// make builds it), then where make install puts it.
func libfstackPaths(o Options) []string {
	var out []string
	if o.FFPath != "" {
		out = append(out, path.Join(o.FFPath, "lib", "libfstack.a"))
	}
	return append(out, "/usr/local/lib/libfstack.a", "/usr/local/lib64/libfstack.a")
}

// fstackLib is what was found of libfstack.a.
type fstackLib struct {
	Path        string
	FlowIsolate bool
	Referrers   []string // members referencing rte_flow_isolate
}

func checkLibfstack(ctx context.Context, env *engine.Env, o Options) []doctor.Result {
	o = o.onHost(env.Host)
	disk, lib, none := diskLibfstack(env, o)
	if o.Linked == nil {
		if lib == nil {
			return []doctor.Result{disk}
		}
		return []doctor.Result{disk, flowIsolateResult(env, lib.FlowIsolate, "", o)}
	}
	l := o.Linked
	ver := "F-Stack " + l.Fstack
	if l.Fstack == "" {
		ver = "F-Stack (its version not stamped at build: built without make fstack)"
	}
	from := ""
	if l.BuiltFrom != "" {
		from = "built from " + l.BuiltFrom + ", "
	}
	built := "FF_FLOW_ISOLATE not stamped"
	switch l.FlowIsolate {
	case "yes":
		built = "with FF_FLOW_ISOLATE"
	case "no":
		built = "without FF_FLOW_ISOLATE"
	}
	linked := doctor.Result{ID: IDLibfstack, Status: doctor.OK,
		Detail: fmt.Sprintf("%s linked into this photonctl (%s%s)", ver, from, built)}
	res := []doctor.Result{withHost(linked, disk, none)}
	// The dataplane runs the F-Stack linked in: its build decides.
	switch {
	case l.FlowIsolate == "yes" || l.FlowIsolate == "no":
		note := ""
		if lib != nil && lib.FlowIsolate != (l.FlowIsolate == "yes") {
			with := "without"
			if lib.FlowIsolate {
				with = "with"
			}
			note = fmt.Sprintf("; %s on this host is built %s FF_FLOW_ISOLATE: a rebuild of photonctl against it changes this", lib.Path, with)
		}
		res = append(res, flowIsolateResult(env, l.FlowIsolate == "yes", note, o))
	case lib != nil:
		res = append(res, flowIsolateResult(env, lib.FlowIsolate,
			fmt.Sprintf("; judged by %s: this photonctl's build did not stamp how its F-Stack was built", lib.Path), o))
	default:
		res = append(res, doctor.Result{ID: IDFlowIsolate, Status: doctor.Skip,
			Detail: "this photonctl's build did not stamp whether its F-Stack was built with FF_FLOW_ISOLATE (make fstack does), and no libfstack.a on this host says"})
	}
	return res
}

// diskLibfstack looks for libfstack.a on the host: what F-Stack's apps, and
// a rebuild of photonctl, link. lib is what was found; otherwise r says why
// not, and none is set when there is none at all (r then fails).
func diskLibfstack(env *engine.Env, o Options) (r doctor.Result, lib *fstackLib, none string) {
	h := env.Host
	tried := libfstackPaths(o)
	for _, p := range tried {
		b, err := h.ReadFile(p)
		if host.IsNotExist(err) {
			continue
		}
		if err != nil {
			if host.IsPermission(err) {
				return skipUnreadable(IDLibfstack, p, err), nil, ""
			}
			return doctor.Result{ID: IDLibfstack, Status: doctor.Fail,
				Detail: fmt.Sprintf("cannot read %s: %s", p, reason(err)), Fix: rebuildFix(o)}, nil, ""
		}
		a, err := ParseArchive(b)
		if err != nil {
			return doctor.Result{ID: IDLibfstack, Status: doctor.Fail,
				Detail: fmt.Sprintf("%s is not a usable static library: %v", p, err), Fix: rebuildFix(o)}, nil, ""
		}
		refs, err := a.References(flowIsolateSym)
		if err != nil {
			return doctor.Result{ID: IDLibfstack, Status: doctor.Fail,
				Detail: fmt.Sprintf("%s has a corrupt member: %v", p, err), Fix: rebuildFix(o)}, nil, ""
		}
		lib = &fstackLib{Path: p, FlowIsolate: len(refs) > 0, Referrers: refs}
		break
	}
	if lib == nil {
		where := "set FF_PATH to F-Stack's source tree, then cd $FF_PATH/lib && make && make install"
		if o.FFPath != "" {
			where = "cd " + o.FFPath + "/lib && make && make install"
		}
		return doctor.Result{ID: IDLibfstack, Status: doctor.Fail,
				Detail: "libfstack.a not found (looked at " + strings.Join(tried, ", ") + ")",
				Fix:    "build and install F-Stack: " + where + "; see docs/dpdk-toolchain.md"}, nil,
			"no libfstack.a on this host (looked at " + strings.Join(tried, ", ") + "): only rebuilding photonctl needs one"
	}
	ver := "version unknown"
	if v, from := fstackVersion(h, env, o); v != "" {
		ver = fmt.Sprintf("F-Stack %s from %s", v, from)
	}
	built := "built without FF_FLOW_ISOLATE (no member references " + flowIsolateSym + ")"
	if lib.FlowIsolate {
		built = fmt.Sprintf("built with FF_FLOW_ISOLATE (%s references %s)", strings.Join(lib.Referrers, ", "), flowIsolateSym)
	}
	return doctor.Result{ID: IDLibfstack, Status: doctor.OK,
		Detail: fmt.Sprintf("%s (%s), %s", lib.Path, ver, built)}, lib, ""
}

func rebuildFix(o Options) string {
	dir := "$FF_PATH/lib"
	if o.FFPath != "" {
		dir = o.FFPath + "/lib"
	}
	return "rebuild and reinstall F-Stack: cd " + dir + " && make clean && make && make install"
}

// flowIsolateResult weighs how F-Stack was built (isolate: with
// FF_FLOW_ISOLATE) against the devices f-stack.conf gives DPDK; note ends
// the detail of a judgement.
func flowIsolateResult(env *engine.Env, isolate bool, note string, o Options) doctor.Result {
	h := env.Host
	confPath, conf, err := fstackConf(h, env.Spec)
	if err != nil {
		if host.IsPermission(err) {
			return skipUnreadable(IDFlowIsolate, confPath, err)
		}
		return doctor.Result{ID: IDFlowIsolate, Status: doctor.Skip,
			Detail: fmt.Sprintf("cannot read %s (%s), so the devices DPDK gets are unknown; the fstackconf checks report the file", confPath, reason(err))}
	}
	addrs := allowList(conf)
	if len(addrs) == 0 {
		return doctor.Result{ID: IDFlowIsolate, Status: doctor.Skip,
			Detail: fmt.Sprintf("%s has no pci_whitelist (or allow) in [dpdk], so the devices DPDK gets are unknown", confPath)}
	}
	var devs []pciDevice
	for _, a := range addrs {
		d, err := readPCIDevice(h, a)
		if err != nil {
			if host.IsPermission(err) {
				return skipUnreadable(IDFlowIsolate, "/sys/bus/pci/devices/"+a+"/vendor", err)
			}
			return doctor.Result{ID: IDFlowIsolate, Status: doctor.Fail,
				Detail: fmt.Sprintf("%s allow-lists %s, which is not a PCI device of this host", confPath, a),
				Fix:    fmt.Sprintf("set pci_whitelist in %s to devices lspci -D lists (the dataplane PF and an idle VF, e.g. 0000:03:00.0,0000:03:00.2)", confPath)}
		}
		devs = append(devs, d)
	}
	r := flowIsolateJudge(isolate, devs, confPath, o)
	r.Detail += note
	return r
}

func flowIsolateJudge(isolate bool, devs []pciDevice, confPath string, o Options) doctor.Result {
	if isolate {
		var unsure []string
		for _, d := range devs {
			if d.Vendor != vendorMellanox {
				unsure = append(unsure, d.describe())
			}
		}
		if len(unsure) > 0 {
			return doctor.Result{ID: IDFlowIsolate, Status: doctor.Warn,
				Detail: fmt.Sprintf("F-Stack is built with FF_FLOW_ISOLATE, which needs rte_flow isolated mode, but %s is not a Mellanox (mlx5) port and may not support it: starting the port fails", strings.Join(unsure, ", ")),
				Fix:    fmt.Sprintf("allow-list mlx5 ports in %s pci_whitelist, or rebuild F-Stack without FF_FLOW_ISOLATE (lib/Makefile)%s and give the dataplane a NIC of its own", confPath, thenPhotonctl(o))}
		}
		return doctor.Result{ID: IDFlowIsolate, Status: doctor.OK,
			Detail: fmt.Sprintf("F-Stack is built with FF_FLOW_ISOLATE: the dataplane must listen on TCP port %d (hard-coded in F-Stack), the rest of the traffic stays with the kernel; %s support rte_flow isolation (mlx5)", flowIsolatePort, describeAll(devs))}
	}
	var shared []string
	for _, d := range devs {
		if !d.IsVF && len(d.Netdev) > 0 {
			shared = append(shared, d.describe())
		}
	}
	if len(shared) > 0 {
		return doctor.Result{ID: IDFlowIsolate, Status: doctor.Warn,
			Detail: fmt.Sprintf("F-Stack is built without FF_FLOW_ISOLATE and gets PF %s, which the kernel uses too: the dataplane takes all the PF's traffic and the host's own connections on it drop", strings.Join(shared, ", ")),
			Fix:    fmt.Sprintf("rebuild F-Stack with FF_FLOW_ISOLATE=1 in %s/lib/Makefile%s (the dataplane then serves TCP port %d), or allow-list only an idle VF or a NIC of its own in %s pci_whitelist", ffPathOr(o), thenPhotonctl(o), flowIsolatePort, confPath)}
	}
	return doctor.Result{ID: IDFlowIsolate, Status: doctor.OK,
		Detail: fmt.Sprintf("F-Stack is built without FF_FLOW_ISOLATE and its devices %s are not shared with the kernel", describeAll(devs))}
}

// thenPhotonctl is what a rebuild of F-Stack takes when it is linked into
// photonctl.
func thenPhotonctl(o Options) string {
	if o.Linked == nil {
		return ""
	}
	return ", then photonctl with make fstack FF_PATH=" + ffPathOr(o)
}

func describeAll(devs []pciDevice) string {
	s := make([]string, len(devs))
	for i, d := range devs {
		s[i] = d.describe()
	}
	return strings.Join(s, ", ")
}

func ffPathOr(o Options) string {
	if o.FFPath != "" {
		return o.FFPath
	}
	return "$FF_PATH"
}

// Stamp is what make fstack stamps into photonctl of the F-Stack it links:
// the release of the tree (or install prefix) at FF_PATH, read as every
// command reads it (fstackconf.TreeVersion), and whether its libfstack.a
// references rte_flow_isolate (built with FF_FLOW_ISOLATE).
type Stamp struct {
	Version     string // "1.24", "" when the tree does not say
	VersionFrom string // where it was read
	BuiltFrom   string // FF_PATH
	FlowIsolate bool
	Lib         string // the libfstack.a read
}

// StampOf reads the F-Stack at ffPath (a host path). An error when there is
// no readable libfstack.a under it: make fstack would not link.
func StampOf(h *host.Host, ffPath string) (Stamp, error) {
	st := Stamp{BuiltFrom: ffPath, Lib: path.Join(ffPath, "lib", "libfstack.a")}
	b, err := h.ReadFile(st.Lib)
	if err != nil {
		return st, fmt.Errorf("reading F-Stack's library %s (build F-Stack first: cd %s/lib && make; FF_PATH is its tree or install prefix): %w", st.Lib, ffPath, err)
	}
	a, err := ParseArchive(b)
	if err != nil {
		return st, fmt.Errorf("%s: %w", st.Lib, err)
	}
	refs, err := a.References(flowIsolateSym)
	if err != nil {
		return st, fmt.Errorf("%s: %w", st.Lib, err)
	}
	st.FlowIsolate = len(refs) > 0
	if v, from, ok := fstackconf.TreeVersion(h, ffPath); ok {
		st.Version, st.VersionFrom = v.String(), from
	}
	return st, nil
}
