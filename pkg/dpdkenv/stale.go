package dpdkenv

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/photonctl/photonctl/pkg/doctor"
	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/host"
)

// runtimeGroup is the runtime files of one DPDK file prefix in one place:
// a /run/dpdk/<prefix> folder, or <hugetlbfs>/<prefix>map_* files.
type runtimeGroup struct {
	Pattern string // what the fix removes: "/dev/hugepages/rtemap_*", "/run/dpdk/rte"
	Dir     bool   // Pattern is a folder (rm -rf)
	Files   []string
	Bytes   int64
	Holder  string // "pid 1234 (dpdk-testpmd)" when a process holds one
}

// hugetlbMounts lists the hugetlbfs mount points in /proc/mounts, or
// /dev/hugepages when it names none.
func hugetlbMounts(h *host.Host) []string {
	var out []string
	if b, err := h.ReadFile("/proc/mounts"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) >= 3 && f[2] == "hugetlbfs" {
				out = append(out, strings.ReplaceAll(f[1], `\040`, " "))
			}
		}
	}
	if len(out) == 0 {
		out = []string{"/dev/hugepages"}
	}
	sort.Strings(out)
	return out
}

// dpdkRunDir is DPDK's runtime folder: /run/dpdk, or /var/run/dpdk where
// /run has none. /run is looked at first because /var/run is often an
// absolute link to it, which would leave the root.
func dpdkRunDir(h *host.Host) string {
	if h.Exists("/run/dpdk") {
		return "/run/dpdk"
	}
	return "/var/run/dpdk"
}

// runtimeGroups finds DPDK's runtime files.
func runtimeGroups(h *host.Host) ([]*runtimeGroup, string, error) {
	var groups []*runtimeGroup
	run := dpdkRunDir(h)
	ents, err := h.ReadDir(run)
	if err != nil && !host.IsNotExist(err) {
		return nil, run, err
	}
	for _, e := range ents {
		p := run + "/" + e.Name()
		groups = append(groups, &runtimeGroup{Pattern: p, Dir: e.IsDir(), Files: []string{p}})
	}
	for _, mnt := range hugetlbMounts(h) {
		files, err := h.Glob(mnt + "/*map_*")
		if err != nil {
			continue
		}
		byPrefix := map[string]*runtimeGroup{}
		for _, f := range files {
			base := path.Base(f)
			pat := mnt + "/" + base[:strings.Index(base, "map_")] + "map_*"
			g := byPrefix[pat]
			if g == nil {
				g = &runtimeGroup{Pattern: pat}
				byPrefix[pat] = g
				groups = append(groups, g)
			}
			g.Files = append(g.Files, f)
			if st, err := h.Lstat(f); err == nil {
				g.Bytes += st.Size()
			}
		}
	}
	return groups, run, nil
}

// holders maps each path some process has open or mapped to that process.
// denied counts processes whose fds could not be read.
func holders(h *host.Host) (map[string]string, int) {
	held := map[string]string{}
	denied := 0
	procs, _ := h.ReadDir("/proc")
	for _, p := range procs {
		pid := p.Name()
		if _, err := strconv.Atoi(pid); err != nil {
			continue
		}
		who := func() string {
			comm, _ := h.ReadString("/proc/" + pid + "/comm")
			if comm == "" {
				return "pid " + pid
			}
			return fmt.Sprintf("pid %s (%s)", pid, comm)
		}
		fds, err := h.ReadDir("/proc/" + pid + "/fd")
		if host.IsPermission(err) {
			denied++
		}
		for _, fd := range fds {
			if t, err := h.ReadLink("/proc/" + pid + "/fd/" + fd.Name()); err == nil && strings.HasPrefix(t, "/") {
				if _, ok := held[normRun(t)]; !ok {
					held[normRun(t)] = who()
				}
			}
		}
		if maps, err := h.ReadFile("/proc/" + pid + "/maps"); err == nil {
			sc := bufio.NewScanner(bytes.NewReader(maps))
			for sc.Scan() {
				line := sc.Text()
				i := strings.Index(line, " /")
				if i < 0 || strings.HasSuffix(line, " (deleted)") {
					continue
				}
				t := normRun(line[i+1:])
				if _, ok := held[t]; !ok {
					held[t] = who()
				}
			}
		}
	}
	return held, denied
}

// normRun writes /var/run/... as /run/..., the same files on every current
// distribution.
func normRun(p string) string {
	if strings.HasPrefix(p, "/var/run/") {
		return p[len("/var"):]
	}
	return p
}

func (g *runtimeGroup) heldBy(held map[string]string) string {
	for _, f := range g.Files {
		if who, ok := held[normRun(f)]; ok {
			return who
		}
	}
	if !g.Dir {
		return ""
	}
	// A folder is held when a file inside it is; the first path wins, so
	// that the report does not depend on map order.
	prefix := normRun(g.Pattern) + "/"
	first := ""
	for p := range held {
		if strings.HasPrefix(p, prefix) && (first == "" || p < first) {
			first = p
		}
	}
	if first == "" {
		return ""
	}
	return held[first]
}

func checkStale(ctx context.Context, env *engine.Env) []doctor.Result {
	h := env.Host
	groups, run, err := runtimeGroups(h)
	if err != nil {
		if host.IsPermission(err) {
			return []doctor.Result{skipUnreadable(IDStaleFiles, run, err)}
		}
		return []doctor.Result{{Status: doctor.Skip, Detail: fmt.Sprintf("cannot list %s: %s", run, reason(err))}}
	}
	if len(groups) == 0 {
		return []doctor.Result{{Status: doctor.OK, Detail: fmt.Sprintf("no DPDK runtime files in %s or the hugetlbfs mounts (%s)", run, strings.Join(hugetlbMounts(h), ", "))}}
	}
	held, denied := holders(h)
	var stale, live []string
	var rm, rmDir []string
	var bytes int64
	nfiles := 0
	for _, g := range groups {
		if who := g.heldBy(held); who != "" {
			live = append(live, fmt.Sprintf("%s by %s", g.Pattern, who))
			continue
		}
		stale = append(stale, g.Pattern)
		if g.Dir {
			rmDir = append(rmDir, g.Pattern)
		} else {
			rm = append(rm, g.Pattern)
			bytes += g.Bytes
			nfiles += len(g.Files)
		}
	}
	if len(stale) == 0 {
		return []doctor.Result{{Status: doctor.OK, Detail: "DPDK runtime files are in use: " + strings.Join(live, ", ")}}
	}
	if denied > 0 {
		return []doctor.Result{{Status: doctor.Skip,
			Detail: fmt.Sprintf("not root: cannot read /proc/PID/fd of %d process(es), so cannot tell whether a DPDK process holds %s; run photonctl doctor as root", denied, strings.Join(stale, ", "))}}
	}
	detail := "DPDK runtime files no process holds, left by a run that was killed: " + strings.Join(stale, ", ")
	if nfiles > 0 {
		detail += fmt.Sprintf(" (%d hugepage file(s), %s of hugepages)", nfiles, humanBytes(bytes))
	}
	if len(live) > 0 {
		detail += "; in use: " + strings.Join(live, ", ")
	}
	var cmds []string
	if len(rm) > 0 {
		cmds = append(cmds, "rm -f "+strings.Join(rm, " "))
	}
	if len(rmDir) > 0 {
		cmds = append(cmds, "rm -rf "+strings.Join(rmDir, " "))
	}
	return []doctor.Result{{Status: doctor.Warn, Detail: detail, Fix: strings.Join(cmds, " && ")}}
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}
