package dpdkenv

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/photonctl/photonctl/pkg/doctor"
	"github.com/photonctl/photonctl/pkg/engine"
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
	h := env.Host
	tried := libfstackPaths(o)
	var lib *fstackLib
	for _, p := range tried {
		b, err := h.ReadFile(p)
		if host.IsNotExist(err) {
			continue
		}
		if err != nil {
			if host.IsPermission(err) {
				return []doctor.Result{skipUnreadable(IDLibfstack, p, err)}
			}
			return []doctor.Result{{ID: IDLibfstack, Status: doctor.Fail,
				Detail: fmt.Sprintf("cannot read %s: %s", p, reason(err)), Fix: rebuildFix(o)}}
		}
		a, err := ParseArchive(b)
		if err != nil {
			return []doctor.Result{{ID: IDLibfstack, Status: doctor.Fail,
				Detail: fmt.Sprintf("%s is not a usable static library: %v", p, err), Fix: rebuildFix(o)}}
		}
		refs, err := a.References(flowIsolateSym)
		if err != nil {
			return []doctor.Result{{ID: IDLibfstack, Status: doctor.Fail,
				Detail: fmt.Sprintf("%s has a corrupt member: %v", p, err), Fix: rebuildFix(o)}}
		}
		lib = &fstackLib{Path: p, FlowIsolate: len(refs) > 0, Referrers: refs}
		break
	}
	if lib == nil {
		where := "set FF_PATH to F-Stack's source tree, then cd $FF_PATH/lib && make && make install"
		if o.FFPath != "" {
			where = "cd " + o.FFPath + "/lib && make && make install"
		}
		return []doctor.Result{{ID: IDLibfstack, Status: doctor.Fail,
			Detail: "libfstack.a not found (looked at " + strings.Join(tried, ", ") + ")",
			Fix:    "build and install F-Stack: " + where + "; see docs/dpdk-toolchain.md"}}
	}
	ver := "version unknown"
	if v, from := fstackVersion(h, env, o); v != "" {
		ver = fmt.Sprintf("F-Stack %s from %s", v, from)
	}
	built := "built without FF_FLOW_ISOLATE (no member references " + flowIsolateSym + ")"
	if lib.FlowIsolate {
		built = fmt.Sprintf("built with FF_FLOW_ISOLATE (%s references %s)", strings.Join(lib.Referrers, ", "), flowIsolateSym)
	}
	res := []doctor.Result{{ID: IDLibfstack, Status: doctor.OK,
		Detail: fmt.Sprintf("%s (%s), %s", lib.Path, ver, built)}}
	return append(res, flowIsolateResult(env, lib, o))
}

func rebuildFix(o Options) string {
	dir := "$FF_PATH/lib"
	if o.FFPath != "" {
		dir = o.FFPath + "/lib"
	}
	return "rebuild and reinstall F-Stack: cd " + dir + " && make clean && make && make install"
}

// flowIsolateResult weighs how libfstack was built against the devices
// f-stack.conf gives DPDK.
func flowIsolateResult(env *engine.Env, lib *fstackLib, o Options) doctor.Result {
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
	if lib.FlowIsolate {
		var unsure []string
		for _, d := range devs {
			if d.Vendor != vendorMellanox {
				unsure = append(unsure, d.describe())
			}
		}
		if len(unsure) > 0 {
			return doctor.Result{ID: IDFlowIsolate, Status: doctor.Warn,
				Detail: fmt.Sprintf("F-Stack is built with FF_FLOW_ISOLATE, which needs rte_flow isolated mode, but %s is not a Mellanox (mlx5) port and may not support it: starting the port fails", strings.Join(unsure, ", ")),
				Fix:    fmt.Sprintf("allow-list mlx5 ports in %s pci_whitelist, or rebuild F-Stack without FF_FLOW_ISOLATE (lib/Makefile) and give the dataplane a NIC of its own", confPath)}
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
			Fix:    fmt.Sprintf("rebuild F-Stack with FF_FLOW_ISOLATE=1 in %s/lib/Makefile (the dataplane then serves TCP port %d), or allow-list only an idle VF or a NIC of its own in %s pci_whitelist", ffPathOr(o), flowIsolatePort, confPath)}
	}
	return doctor.Result{ID: IDFlowIsolate, Status: doctor.OK,
		Detail: fmt.Sprintf("F-Stack is built without FF_FLOW_ISOLATE and its devices %s are not shared with the kernel", describeAll(devs))}
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
