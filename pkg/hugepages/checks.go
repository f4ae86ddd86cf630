package hugepages

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/photonctl/photonctl/pkg/doctor"
	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/spec"
)

// Checks are the hugepages doctor checks.
func Checks() []doctor.Check {
	return []doctor.Check{
		{ID: "hugepages-reserved", Group: doctor.GroupHugepages, Run: checkReserved},
		{ID: "hugepages-mounted", Group: doctor.GroupHugepages, Run: checkMounted},
		{ID: "hugepages-persistent", Group: doctor.GroupHugepages, Run: checkPersistent},
	}
}

func unreadable(err error, what string) []doctor.Result {
	if host.IsPermission(err) {
		return []doctor.Result{{Status: doctor.Skip, Detail: what + ": not readable without root"}}
	}
	return []doctor.Result{{Status: doctor.Fail, Detail: fmt.Sprintf("%s: %v", what, err), Fix: "check that /sys and /proc are mounted under --root"}}
}

// checkReserved reports each pool; with a spec asking for pages (--config),
// free pages must cover it, on the node asked for.
func checkReserved(ctx context.Context, env *engine.Env) []doctor.Result {
	h := env.Host
	sizes, err := Sizes(h)
	if err != nil || len(sizes) == 0 {
		return []doctor.Result{{Status: doctor.Fail, Detail: "the kernel offers no hugepages (/sys/kernel/mm/hugepages is empty or missing)",
			Fix: "use a kernel built with CONFIG_HUGETLBFS"}}
	}
	sp := env.Spec
	var out []doctor.Result
	total := int64(0)
	for _, kb := range sizes {
		pool, err := ReadPool(h, kb, AllNodes)
		if err != nil {
			return unreadable(err, "hugepage pool "+SizeName(kb))
		}
		total += pool.Nr
		r := doctor.Result{ID: "hugepages-reserved-" + SizeName(kb), Status: doctor.OK,
			Detail: fmt.Sprintf("%s: %d reserved, %d free", SizeName(kb), pool.Nr, pool.Free)}
		if nodes, _ := Nodes(h); len(nodes) > 1 {
			var per []string
			for _, n := range nodes {
				if np, err := ReadPool(h, kb, n); err == nil {
					per = append(per, fmt.Sprintf("node%d %d/%d", n, np.Free, np.Nr))
				}
			}
			r.Detail += " (free/reserved: " + strings.Join(per, ", ") + ")"
		}
		if sp.Hugepages > 0 {
			if wkb, _ := spec.HugepageKB(sp.HugepageSize); wkb == kb {
				node, free := "in all", pool.Free
				if w, _, err := resolve(h, sp); err == nil && w.node != AllNodes {
					np, err := ReadPool(h, kb, w.node)
					if err != nil {
						r.Status, r.Detail, r.Fix = doctor.Fail, err.Error(), "give --numa-node a node this host has"
						out = append(out, r)
						continue
					}
					node, free = fmt.Sprintf("on node %d", w.node), np.Free
				}
				if free < int64(sp.Hugepages) {
					r.Status = doctor.Fail
					r.Detail += fmt.Sprintf("; the spec wants %d free %s", sp.Hugepages, node)
					r.Fix = fmt.Sprintf("photonctl setup --only hugepages --hugepages %d --hugepage-size %s --numa-node %s", sp.Hugepages, SizeName(kb), sp.NUMANode)
				}
			}
		}
		out = append(out, r)
	}
	if total == 0 && sp.Hugepages < 0 {
		out = append(out, doctor.Result{Status: doctor.Warn, Detail: "no hugepages are reserved; DPDK cannot start without them",
			Fix: "photonctl setup --only hugepages --hugepages 1024"})
	}
	return out
}

func checkMounted(ctx context.Context, env *engine.Env) []doctor.Result {
	h := env.Host
	b, err := h.ReadFile("/proc/mounts")
	if err != nil {
		return unreadable(err, "/proc/mounts")
	}
	ms, _ := ParseMounts(bytes.NewReader(b))
	var found []string
	for _, m := range ms {
		if m.FSType == "hugetlbfs" {
			ps, _ := m.Option("pagesize")
			found = append(found, m.Target+" "+orDefault(ps, "default size"))
		}
	}
	if len(found) > 0 {
		return []doctor.Result{{Status: doctor.OK, Detail: "hugetlbfs mounted: " + strings.Join(found, ", ")}}
	}
	return []doctor.Result{{Status: doctor.Fail, Detail: "hugetlbfs is not mounted; DPDK maps its memory from there",
		Fix: "mount -t hugetlbfs nodev /dev/hugepages (photonctl setup --hugepages N does it)"}}
}

// checkPersistent warns when pages are reserved now but nothing reserves them
// at the next boot.
func checkPersistent(ctx context.Context, env *engine.Env) []doctor.Result {
	h := env.Host
	pool, err := ReadPool(h, 2048, AllNodes)
	if err != nil {
		return []doctor.Result{{Status: doctor.Skip, Detail: "no 2M hugepage pool to check"}}
	}
	if cmd, err := h.ReadString("/proc/cmdline"); err == nil {
		for _, tok := range strings.Fields(cmd) {
			if strings.HasPrefix(tok, "hugepages=") {
				return []doctor.Result{{Status: doctor.OK, Detail: "reserved at boot by the kernel argument " + tok}}
			}
		}
	}
	// The spec's count, when it asks for default-size pages on all nodes
	// (a --config, or what setup last applied); -1 when it does not say.
	want := int64(-1)
	if sp := env.Spec; sp.Hugepages >= 0 && (sp.NUMANode == "" || sp.NUMANode == "all") {
		if kb, err := spec.HugepageKB(sp.HugepageSize); err == nil && kb == 2048 {
			want = int64(sp.Hugepages)
		}
	}
	v, where, found, err := BootSysctl(h, "vm.nr_hugepages")
	if err != nil {
		return unreadable(err, "the sysctl.d files")
	}
	fix := func(n int64) string {
		return fmt.Sprintf("photonctl setup --only hugepages --hugepages %d (writes %s), and take vm.nr_hugepages out of %s, which comes later", n, SysctlFile, where)
	}
	if found {
		n, perr := strconv.ParseInt(v, 10, 64)
		switch {
		case perr != nil:
			return []doctor.Result{{Status: doctor.Fail, Detail: fmt.Sprintf("at boot %s sets vm.nr_hugepages = %q, not a number: systemd-sysctl fails on it", where, v),
				Fix: fmt.Sprintf("fix %s, or photonctl setup --only hugepages --hugepages N", where)}}
		case want >= 0 && n != want:
			return []doctor.Result{{Status: doctor.Fail,
				Detail: fmt.Sprintf("at boot vm.nr_hugepages = %d (%s: systemd-sysctl reads every sysctl.d file in name order, the last setting wins), but the spec wants %d", n, where, want),
				Fix:    fix(want)}}
		case want < 0 && n < pool.Nr:
			return []doctor.Result{{Status: doctor.Fail,
				Detail: fmt.Sprintf("%d × 2M pages are reserved now, but at boot vm.nr_hugepages = %d (%s, the last setting systemd-sysctl applies)", pool.Nr, n, where),
				Fix:    fix(pool.Nr)}}
		}
		return []doctor.Result{{Status: doctor.OK, Detail: fmt.Sprintf("reserved at boot by %s (vm.nr_hugepages = %d, the last setting systemd-sysctl applies)", where, n)}}
	}
	if want > 0 {
		return []doctor.Result{{Status: doctor.Fail, Detail: fmt.Sprintf("the spec wants %d × 2M pages, but nothing reserves them at boot", want),
			Fix: fmt.Sprintf("photonctl setup --only hugepages --hugepages %d (writes %s)", want, SysctlFile)}}
	}
	if pool.Nr == 0 {
		return []doctor.Result{{Status: doctor.OK, Detail: "no 2M pages reserved, none to keep across reboots"}}
	}
	return []doctor.Result{{Status: doctor.Warn, Detail: fmt.Sprintf("%d × 2M pages are reserved now, but nothing reserves them at boot", pool.Nr),
		Fix: fmt.Sprintf("photonctl setup --only hugepages --hugepages %d (writes %s)", pool.Nr, SysctlFile)}}
}
