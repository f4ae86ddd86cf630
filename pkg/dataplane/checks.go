package dataplane

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/photonctl/photonctl/pkg/doctor"
	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/host"
)

// DefaultPort is the port run echo listens on by default.
const DefaultPort = 8080

// Checks are the doctor checks of the dataplane group.
func Checks() []doctor.Check {
	return []doctor.Check{
		{ID: "dataplane-port", Group: doctor.GroupDataplane, Run: checkPort},
		{ID: "dataplane-dpdk-leftovers", Group: doctor.GroupDataplane, Run: checkLeftovers},
	}
}

func checkPort(ctx context.Context, env *engine.Env) []doctor.Result {
	h := env.Host
	var socks []Socket
	read := 0
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := h.ReadFile(f)
		if err != nil {
			if host.IsPermission(err) {
				return []doctor.Result{{Status: doctor.Skip, Detail: fmt.Sprintf("cannot read %s: %v; run doctor as root", f, err)}}
			}
			continue
		}
		read++
		s, err := ParseProcNetTCP(bytes.NewReader(b))
		if err != nil {
			return []doctor.Result{{Status: doctor.Warn, Detail: fmt.Sprintf("%s: %v", f, err),
				Fix: fmt.Sprintf("check by hand: ss -ltnp 'sport = :%d'", DefaultPort)}}
		}
		socks = append(socks, s...)
	}
	if read == 0 {
		return []doctor.Result{{Status: doctor.Skip, Detail: "no /proc/net/tcp (procfs not mounted under the root)"}}
	}
	var users []string
	for _, s := range socks {
		if s.State == TCPListen && s.Local.Port() == DefaultPort {
			users = append(users, s.Local.String())
		}
	}
	if len(users) > 0 {
		return []doctor.Result{{Status: doctor.Warn,
			Detail: fmt.Sprintf("TCP port %d, run echo's default, is taken: listening on %s", DefaultPort, strings.Join(users, ", ")),
			Fix:    fmt.Sprintf("find the owner with ss -ltnp 'sport = :%d' and stop it, or give run echo --listen ADDR:PORT with a free port", DefaultPort)}}
	}
	return []doctor.Result{{Status: doctor.OK, Detail: fmt.Sprintf("TCP port %d (run echo's default) is free", DefaultPort)}}
}

func checkLeftovers(ctx context.Context, env *engine.Env) []doctor.Result {
	h := env.Host
	prefixes := map[string][]string{}
	dirs, _ := h.Glob("/var/run/dpdk/*")
	for _, d := range dirs {
		prefixes[filepath.Base(d)] = append(prefixes[filepath.Base(d)], d)
	}
	maps, _ := h.Glob("/dev/hugepages/*map_*")
	for _, m := range maps {
		name := filepath.Base(m)
		p := name[:strings.Index(name, "map_")]
		prefixes[p] = append(prefixes[p], m)
	}
	if len(prefixes) == 0 {
		return []doctor.Result{{Status: doctor.OK, Detail: "no DPDK runtime files in /var/run/dpdk or /dev/hugepages"}}
	}
	inUse := prefixesInUse(h)
	var names []string
	for p := range prefixes {
		names = append(names, p)
	}
	sort.Strings(names)
	var res []doctor.Result
	for _, p := range names {
		files := prefixes[p]
		sort.Strings(files)
		if inUse[p] {
			res = append(res, doctor.Result{Status: doctor.OK,
				Detail: fmt.Sprintf("DPDK file prefix %q: %d runtime files, in use by a running process", p, len(files))})
			continue
		}
		hp := 0
		for _, f := range files {
			if strings.HasPrefix(f, "/dev/hugepages/") {
				hp++
			}
		}
		res = append(res, doctor.Result{Status: doctor.Warn,
			Detail: fmt.Sprintf("DPDK file prefix %q: %d runtime files left by a process that is gone (%d hugepage files hold hugepages)", p, len(files), hp),
			Fix:    fmt.Sprintf("rm -rf /var/run/dpdk/%s /dev/hugepages/%smap_*", p, p)})
	}
	return res
}
