package dpdkenv

import (
	"context"
	"fmt"

	"github.com/photonctl/photonctl/pkg/doctor"
	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/host"
)

// cpuFiles are the kernel's CPU lists this check reads.
const (
	cpuOnline   = "/sys/devices/system/cpu/online"
	cpuIsolated = "/sys/devices/system/cpu/isolated"
	cpuNohzFull = "/sys/devices/system/cpu/nohz_full"
)

// readCPUList reads a CPU list file; a missing file is the empty set.
func readCPUList(h *host.Host, p string) (cpuSet, error) {
	s, err := h.ReadString(p)
	if host.IsNotExist(err) {
		return cpuSet{}, nil
	}
	if err != nil {
		return nil, err
	}
	return parseCPUList(s)
}

// checkLcores checks that f-stack.conf's lcore_mask names online CPUs, and
// that the kernel's CPU isolation (isolcpus=, nohz_full=) does not split it:
// lcores all isolated is a tuned dataplane, none isolated a plain one, but
// some isolated and some not means the isolation was made for something
// else (another tool or dataplane), and the lcores outside it share their
// CPU with the rest of the host.
func checkLcores(ctx context.Context, env *engine.Env) []doctor.Result {
	h := env.Host
	confPath, conf, err := fstackConf(h, env.Spec)
	if err != nil {
		if host.IsPermission(err) {
			return []doctor.Result{skipUnreadable(IDLcores, confPath, err)}
		}
		return []doctor.Result{{Status: doctor.Skip, Detail: fmt.Sprintf("cannot read %s (%s); the fstackconf checks report the file", confPath, reason(err))}}
	}
	maskStr, ok := iniLookup(conf, "dpdk", "lcore_mask")
	if !ok {
		return []doctor.Result{{Status: doctor.Skip, Detail: fmt.Sprintf("%s has no lcore_mask in [dpdk]", confPath)}}
	}
	lcores, err := parseHexMask(maskStr)
	if err != nil || len(lcores) == 0 {
		msg := "names no CPU"
		if err != nil {
			msg = err.Error()
		}
		return []doctor.Result{{Status: doctor.Fail,
			Detail: fmt.Sprintf("%s lcore_mask=%s: %s", confPath, maskStr, msg),
			Fix:    fmt.Sprintf("set lcore_mask in the [dpdk] section of %s to a hex mask of the dataplane's CPUs, such as 2 for CPU 1", confPath)}}
	}
	sets := map[string]cpuSet{}
	for _, p := range []string{cpuOnline, cpuIsolated, cpuNohzFull} {
		s, err := readCPUList(h, p)
		if err != nil {
			if host.IsPermission(err) {
				return []doctor.Result{skipUnreadable(IDLcores, p, err)}
			}
			return []doctor.Result{{Status: doctor.Skip, Detail: fmt.Sprintf("cannot read %s: %s", p, reason(err))}}
		}
		sets[p] = s
	}
	online := sets[cpuOnline]
	if len(online) == 0 {
		return []doctor.Result{{Status: doctor.Skip, Detail: cpuOnline + " is missing or empty"}}
	}
	what := fmt.Sprintf("lcore_mask=%s in %s (CPUs %s)", maskStr, confPath, lcores)
	if off := lcores.minus(online); len(off) > 0 {
		c := off.sorted()[0]
		return []doctor.Result{{Status: doctor.Fail,
			Detail: fmt.Sprintf("%s: %s not online (online: %s); DPDK stops with lcore unavailable", what, off.subject(), online),
			Fix:    fmt.Sprintf("set lcore_mask in %s to online CPUs (%s), or bring CPU %d online: echo 1 > /sys/devices/system/cpu/cpu%d/online", confPath, online, c, c)}}
	}
	isolated := map[int]bool{}
	for c := range sets[cpuIsolated] {
		isolated[c] = true
	}
	for c := range sets[cpuNohzFull] {
		isolated[c] = true
	}
	iso := lcores.and(isolated)
	switch {
	case len(iso) == 0:
		return []doctor.Result{{Status: doctor.OK, Detail: what + ": online"}}
	case len(iso) == len(lcores):
		return []doctor.Result{{Status: doctor.OK, Detail: what + ": online and isolated for the dataplane (isolcpus/nohz_full)"}}
	}
	all := cpuSet(isolated)
	return []doctor.Result{{Status: doctor.Warn,
		Detail: fmt.Sprintf("%s: %s isolated (isolcpus/nohz_full: %s) but %s not: the isolation was set up for something else, and the dataplane is split across it", what, iso.subject(), all, lcores.minus(isolated).subject()),
		Fix:    fmt.Sprintf("set lcore_mask in %s to CPUs all inside the isolated set (%s) or all outside it, or change isolcpus=/nohz_full= on the kernel command line", confPath, all)}}
}
