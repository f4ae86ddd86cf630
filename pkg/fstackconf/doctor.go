package fstackconf

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/photonctl/photonctl/pkg/doctor"
	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/sriov"
)

// Doctor check IDs.
const (
	CheckFile      = "fstackconf-file"
	CheckTxDelay   = "fstackconf-pkt-tx-delay"
	CheckPort0     = "fstackconf-port0"
	CheckAllow     = "fstackconf-allow-list"
	CheckHugepages = "fstackconf-memory"
)

// MellanoxVendor is the PCI vendor ID of Mellanox (NVIDIA) NICs, whose mlx5
// PMD works beside the kernel driver (flow bifurcation), without vfio-pci.
const MellanoxVendor = "0x15b3"

// Checks are the f-stack.conf checks of photonctl doctor.
func Checks() []doctor.Check {
	return checksFor(os.Getenv("FF_PATH"))
}

func checksFor(ffPath string) []doctor.Check {
	g := doctor.GroupFstackConf
	return []doctor.Check{
		{ID: CheckFile, Group: g, Run: func(ctx context.Context, env *engine.Env) []doctor.Result { return checkFile(env, ffPath) }},
		{ID: CheckTxDelay, Group: g, Run: func(ctx context.Context, env *engine.Env) []doctor.Result { return checkTxDelay(env) }},
		{ID: CheckPort0, Group: g, Run: func(ctx context.Context, env *engine.Env) []doctor.Result { return checkPort0(env) }},
		{ID: CheckAllow, Group: g, Run: func(ctx context.Context, env *engine.Env) []doctor.Result { return checkAllow(env, ffPath) }},
		{ID: CheckHugepages, Group: g, Run: func(ctx context.Context, env *engine.Env) []doctor.Result { return checkMemory(env) }},
	}
}

func setupFix(env *engine.Env) string {
	return "photonctl setup --only fstack (or edit " + env.Spec.FstackConf + ")"
}

// load reads the file for a check; a non-nil result ends the check.
func load(env *engine.Env, id string) (*File, *doctor.Result) {
	p := env.Spec.FstackConf
	f, err := Load(env.Host, p)
	switch {
	case err == nil:
		return f, nil
	case host.IsPermission(err):
		return nil, &doctor.Result{Status: doctor.Skip, Detail: "cannot read " + p + ": not root"}
	case id != CheckFile:
		return nil, &doctor.Result{Status: doctor.Skip, Detail: "no readable " + p + " (see " + CheckFile + ")"}
	case host.IsNotExist(err):
		return nil, &doctor.Result{Status: doctor.Fail, Detail: p + " does not exist: F-Stack will not start", Fix: "photonctl setup --only fstack"}
	case errors.Is(err, engine.ErrBadInput):
		detail := err.Error()
		var se *SyntaxError
		if errors.As(err, &se) {
			detail = joinProblems(se.Problems)
		}
		return nil, &doctor.Result{Status: doctor.Fail, Detail: p + " does not parse: " + detail, Fix: "fix the lines named; photonctl conf check " + p}
	}
	return nil, &doctor.Result{Status: doctor.Fail, Detail: "reading " + p + ": " + err.Error(), Fix: "check the file's permissions"}
}

func joinProblems(ps []Problem) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, "; ")
}

func onlineCPUs(h *host.Host) CPUSet {
	b, err := h.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return nil
	}
	s, err := ParseCPUList(b)
	if err != nil {
		return nil
	}
	return s
}

func checkFile(env *engine.Env, ffPath string) []doctor.Result {
	f, res := load(env, CheckFile)
	if res != nil {
		return []doctor.Result{*res}
	}
	v, notes, err := Resolve(env.Host, ffPath, env.Spec.FstackVersion, env.Spec.FstackConf)
	if err != nil {
		return []doctor.Result{{Status: doctor.Fail, Detail: err.Error(), Fix: "give --fstack-version 1.24 (or the release you run)"}}
	}
	p := env.Spec.FstackConf
	probs := Check(f, v, onlineCPUs(env.Host))
	if len(probs) > 0 {
		return []doctor.Result{{Status: doctor.Fail, Detail: fmt.Sprintf("%s for F-Stack %s: %d problem(s): %s", p, v, len(probs), joinProblems(probs)),
			Fix: "photonctl conf check " + p + " --fstack-version " + v.String() + ", then fix the lines it names"}}
	}
	d := fmt.Sprintf("%s passes conf check for F-Stack %s", p, v)
	if len(notes) > 0 {
		d += " (" + strings.Join(notes, "; ") + ")"
	}
	return []doctor.Result{{Status: doctor.OK, Detail: d}}
}

func checkTxDelay(env *engine.Env) []doctor.Result {
	f, res := load(env, CheckTxDelay)
	if res != nil {
		return []doctor.Result{*res}
	}
	v, ok := f.Get("dpdk", "pkt_tx_delay")
	switch {
	case !ok:
		return []doctor.Result{{Status: doctor.Warn, Detail: "[dpdk] has no pkt_tx_delay: F-Stack holds packets up to 100 µs to batch them", Fix: "set pkt_tx_delay=0 in [dpdk]: " + setupFix(env)}}
	case v != "0":
		return []doctor.Result{{Status: doctor.Warn, Detail: "pkt_tx_delay=" + v + ": F-Stack holds packets up to " + v + " µs to batch them", Fix: "set pkt_tx_delay=0 in [dpdk]: " + setupFix(env)}}
	}
	return []doctor.Result{{Status: doctor.OK, Detail: "pkt_tx_delay=0: packets leave at once"}}
}

func checkPort0(env *engine.Env) []doctor.Result {
	f, res := load(env, CheckPort0)
	if res != nil {
		return []doctor.Result{*res}
	}
	if r := arpConflict(env, f); r != nil {
		return []doctor.Result{*r}
	}
	facts, err := Gather(env)
	switch {
	case errors.Is(err, ErrNoPF):
		return []doctor.Result{{Status: doctor.Skip, Detail: err.Error()}}
	case host.IsPermission(err):
		return []doctor.Result{{Status: doctor.Skip, Detail: "not root: " + err.Error()}}
	case errors.Is(err, ErrNoAddress):
		return []doctor.Result{{Status: doctor.Fail, Detail: err.Error(), Fix: "give the PF its address and default route, or F-Stack an address of its own (--fstack-addr ADDR/LEN), then " + setupFix(env)}}
	case engine.IsBadInput(err) && env.Spec.FstackAddr != "":
		return []doctor.Result{{Status: doctor.Fail, Detail: err.Error(), Fix: "fix fstack_addr/fstack_gateway in the spec, then " + setupFix(env)}}
	case err != nil:
		return []doctor.Result{{Status: doctor.Fail, Detail: err.Error(), Fix: "give the PF with --pf"}}
	}
	whose := facts.PF + " has"
	if facts.Own {
		whose = "fstack_addr gives"
	}
	var diffs []string
	for _, kv := range [][2]string{{"addr", facts.Addr}, {"netmask", facts.Netmask}, {"broadcast", facts.Broadcast}, {"gateway", facts.Gateway}} {
		got, ok := f.Get("port0", kv[0])
		if !ok {
			got = "(none)"
		}
		if !SameValue("port0", kv[0], got, kv[1]) {
			diffs = append(diffs, fmt.Sprintf("%s=%s, %s %s", kv[0], got, whose, kv[1]))
		}
	}
	if len(diffs) > 0 {
		what := "the PF"
		if facts.Own {
			what = "F-Stack's own address (fstack_addr " + env.Spec.FstackAddr + ")"
		}
		return []doctor.Result{{Status: doctor.Fail, Detail: "[port0] differs from " + what + ": " + strings.Join(diffs, "; "), Fix: setupFix(env)}}
	}
	if facts.Own {
		return []doctor.Result{{Status: doctor.OK, Detail: fmt.Sprintf("[port0] is an address of its own, %s/%s via %s (fstack_addr; the gateway from %s), on %s's network", facts.Addr, facts.Netmask, facts.Gateway, facts.GatewayFrom, facts.PF)}}
	}
	return []doctor.Result{{Status: doctor.OK, Detail: fmt.Sprintf("[port0] is %s's %s/%s via %s", facts.PF, facts.Addr, facts.Netmask, facts.Gateway)}}
}

// arpConflict fails [port0] when its addr is an address the kernel has on a
// link while DPDK drives an allow-listed PCI device that is not bifurcated
// (a VF or NIC on vfio-pci): the kernel and F-Stack then both answer ARP
// for one address on one network. With a bifurcated device (mlx5) sharing
// the PF's address is how it is meant to work.
func arpConflict(env *engine.Env, f *File) *doctor.Result {
	addr, ok := f.Get("port0", "addr")
	ip, err := netip.ParseAddr(addr)
	nl := env.Netlink()
	if !ok || err != nil || nl == nil {
		return nil
	}
	var plain []string
	for _, key := range []string{"allow", "pci_whitelist"} {
		list, _ := f.Get("dpdk", key)
		for _, a := range strings.Split(list, ",") {
			a = strings.TrimSpace(a)
			if a == "" || IsVdev(a) {
				continue
			}
			pci := FullPCI(a)
			if !env.Host.Exists("/sys/bus/pci/devices/" + pci) {
				continue
			}
			if sriov.Bifurcated(env.Host, pci) {
				return nil
			}
			plain = append(plain, pci)
		}
	}
	if len(plain) == 0 {
		return nil
	}
	link, err := KernelHas(nl, ip)
	if err != nil || link == "" {
		return nil
	}
	return &doctor.Result{Status: doctor.Fail,
		Detail: fmt.Sprintf("[port0] addr=%s is also the kernel's address on %s, and DPDK drives %s, which is not bifurcated: the kernel and F-Stack both answer ARP for %s, and its traffic goes to whichever answered last",
			ip, link, strings.Join(plain, ","), ip),
		Fix: fmt.Sprintf("give F-Stack an address of its own on that network: photonctl setup --only fstack --fstack-addr FREE_ADDR/LEN --fstack-gateway GW (or leave %s's address off the kernel)", link)}
}

// FullPCI writes a PCI address with its domain (03:00.0 -> 0000:03:00.0).
func FullPCI(a string) string {
	a = strings.ToLower(strings.TrimSpace(a))
	if strings.Count(a, ":") == 1 {
		return "0000:" + a
	}
	return a
}

func checkAllow(env *engine.Env, ffPath string) []doctor.Result {
	f, res := load(env, CheckAllow)
	if res != nil {
		return []doctor.Result{*res}
	}
	v, _, err := Resolve(env.Host, ffPath, env.Spec.FstackVersion, env.Spec.FstackConf)
	if err != nil {
		return []doctor.Result{{Status: doctor.Skip, Detail: err.Error()}}
	}
	list, ok := f.Get("dpdk", v.AllowKey())
	if !ok || list == "" {
		return []doctor.Result{{Status: doctor.Fail, Detail: fmt.Sprintf("[dpdk] has no %s: DPDK probes every device it can and F-Stack may drive the wrong one", v.AllowKey()), Fix: setupFix(env)}}
	}
	var out []doctor.Result
	for _, a := range strings.Split(list, ",") {
		if IsVdev(strings.TrimSpace(a)) {
			out = append(out, doctor.Result{Status: doctor.OK, Detail: strings.TrimSpace(a) + ": a DPDK virtual device (no PCI device to check)"})
			continue
		}
		pci := FullPCI(a)
		dev := "/sys/bus/pci/devices/" + pci
		if !env.Host.Exists(dev) {
			out = append(out, doctor.Result{Status: doctor.Fail, Detail: fmt.Sprintf("%s lists %s, which this host does not have (no %s)", v.AllowKey(), a, dev), Fix: "list existing devices (lspci -D -d ::0200): " + setupFix(env)})
			continue
		}
		vendor, _ := env.Host.ReadString(dev + "/vendor")
		drv := "(none)"
		if t, err := env.Host.ReadLink(dev + "/driver"); err == nil {
			drv = path.Base(t)
		}
		switch {
		case vendor == MellanoxVendor:
			out = append(out, doctor.Result{Status: doctor.OK, Detail: fmt.Sprintf("%s: Mellanox on %s (the mlx5 PMD works beside the kernel driver)", pci, drv)})
		case drv == "vfio-pci":
			out = append(out, doctor.Result{Status: doctor.OK, Detail: pci + ": bound to vfio-pci"})
		default:
			if why := sriov.VFIORefusal(env, pci); why != nil {
				out = append(out, doctor.Result{Status: doctor.Fail,
					Detail: fmt.Sprintf("%s (vendor %s) is bound to %s, and DPDK would need it on vfio-pci, but it must stay where it is: %v", pci, vendor, drv, why),
					Fix: fmt.Sprintf("take %s out of %s; for a NIC that is not bifurcated DPDK takes a VF on vfio-pci: photonctl setup --pf %s --vfs N --bind-vfio, then photonctl setup --only fstack",
						pci, v.AllowKey(), pci)})
				continue
			}
			out = append(out, doctor.Result{Status: doctor.Fail, Detail: fmt.Sprintf("%s (vendor %s) is bound to %s: DPDK needs it on vfio-pci", pci, vendor, drv), Fix: "dpdk-devbind.py --bind=vfio-pci " + pci})
		}
	}
	return out
}

func checkMemory(env *engine.Env) []doctor.Result {
	f, res := load(env, CheckHugepages)
	if res != nil {
		return []doctor.Result{*res}
	}
	m, ok := f.Get("dpdk", "memory")
	if !ok {
		return []doctor.Result{{Status: doctor.Skip, Detail: "[dpdk] sets no memory: DPDK takes the hugepages it finds"}}
	}
	want, err := strconv.ParseInt(m, 10, 64)
	if err != nil || want <= 0 {
		return []doctor.Result{{Status: doctor.Fail, Detail: "memory=" + m + " is not a number of MB", Fix: "set memory to the MB of hugepages DPDK takes, such as memory=1024"}}
	}
	dirs, _ := env.Host.Glob("/sys/kernel/mm/hugepages/hugepages-*kB")
	var freeKB int64
	var parts []string
	for _, d := range dirs {
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(path.Base(d), "hugepages-"), "kB"), 10, 64)
		if err != nil {
			continue
		}
		n, err := env.Host.ReadInt(d + "/free_hugepages")
		if host.IsPermission(err) {
			return []doctor.Result{{Status: doctor.Skip, Detail: "cannot read " + d + "/free_hugepages: not root"}}
		}
		if err != nil {
			continue
		}
		freeKB += n * kb
		parts = append(parts, fmt.Sprintf("%d × %d kB", n, kb))
	}
	if len(dirs) == 0 {
		return []doctor.Result{{Status: doctor.Fail, Detail: "no hugepages on this host (/sys/kernel/mm/hugepages is empty)", Fix: fmt.Sprintf("photonctl setup --hugepages %d", (want+1)/2)}}
	}
	free := freeKB / 1024
	if free < want {
		return []doctor.Result{{Status: doctor.Fail, Detail: fmt.Sprintf("memory=%d MB, but only %d MB of hugepages are free (%s)", want, free, strings.Join(parts, ", ")),
			Fix: fmt.Sprintf("photonctl setup --hugepages %d (2 MB pages for %d MB), or lower memory in %s", (want+1)/2, want, env.Spec.FstackConf)}}
	}
	return []doctor.Result{{Status: doctor.OK, Detail: fmt.Sprintf("memory=%d MB; %d MB of hugepages are free", want, free)}}
}
