package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/photonctl/photonctl/pkg/dataplane"
	"github.com/photonctl/photonctl/pkg/doctor"
	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/fstackconf"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/lab"
	"github.com/photonctl/photonctl/pkg/sriov"
)

// completeFunc is cobra's completion function for a flag's value.
type completeFunc func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective)

// addCompletions registers value completion for every flag that takes one of
// a known set of values: steps, doctor groups, distros, engines, interfaces,
// backup IDs. The shell scripts of `photonctl completion` call them.
func addCompletions(root *cobra.Command, g *globalOptions) {
	steps := func() []string { return engine.StepOrder }
	groups := func() []string { return doctor.GroupOrder }
	fixed := func(v ...string) func() []string { return func() []string { return v } }
	versions := func() []string {
		var out []string
		for _, v := range fstackconf.Versions() {
			out = append(out, v.String())
		}
		return out
	}
	register(root, "output", oneOf(fixed("text", "json")))
	walk(root, func(c *cobra.Command) {
		switch c.CommandPath() {
		case "photonctl setup":
			register(c, "only", listOf(steps))
			register(c, "skip", listOf(steps))
			register(c, "names", oneOf(fixed("keep", "scripts", "none")))
			register(c, "hugepage-size", oneOf(fixed("2M", "1G")))
			register(c, "vf-spoof-check", oneOf(fixed("on", "off")))
			register(c, "numa-node", func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
				return append([]string{"all"}, numaNodes(g)...), cobra.ShellCompDirectiveNoFileComp
			})
			register(c, "pf", pfCandidates(g))
		case "photonctl conf render":
			register(c, "pf", pfCandidates(g))
		case "photonctl doctor":
			register(c, "only", listOf(groups))
		case "photonctl lab up":
			register(c, "distro", oneOf(lab.Distros))
			register(c, "engine", oneOf(fixed(lab.EngineKernel, lab.EngineFstack)))
		case "photonctl run echo":
			register(c, "engine", oneOf(func() []string { return append([]string{dataplane.EngineAuto}, dataplane.Engines()...) }))
			register(c, "io", oneOf(fixed(dataplane.IOAuto, dataplane.IOEpoll, dataplane.IOUring)))
		case "photonctl bench echo":
			register(c, "mode", oneOf(fixed(dataplane.ModePingPong, dataplane.ModeStreaming)))
		case "photonctl rollback":
			register(c, "id", backupIDs(g))
		}
		register(c, "fstack-version", oneOf(versions))
	})
}

func walk(c *cobra.Command, f func(*cobra.Command)) {
	f(c)
	for _, s := range c.Commands() {
		walk(s, f)
	}
}

// register adds fn to the flag name of c, if c has it (its own, not inherited).
func register(c *cobra.Command, name string, fn completeFunc) {
	if c.LocalNonPersistentFlags().Lookup(name) == nil && c.PersistentFlags().Lookup(name) == nil {
		return
	}
	if err := c.RegisterFlagCompletionFunc(name, fn); err != nil {
		panic(fmt.Sprintf("completion for --%s of %s: %v", name, c.CommandPath(), err))
	}
}

// oneOf completes one value out of values().
func oneOf(values func() []string) completeFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return values(), cobra.ShellCompDirectiveNoFileComp
	}
}

// listOf completes a comma-separated list: the last item, with the ones
// already given kept in front and not offered again.
func listOf(values func() []string) completeFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		done, last := "", toComplete
		if i := strings.LastIndexByte(toComplete, ','); i >= 0 {
			done, last = toComplete[:i+1], toComplete[i+1:]
		}
		have := map[string]bool{}
		for _, v := range strings.Split(done, ",") {
			have[v] = true
		}
		var out []string
		for _, v := range values() {
			if !have[v] && strings.HasPrefix(v, last) {
				out = append(out, done+v)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
}

// pfCandidates completes --pf with the interfaces of the host under --root
// that sit on a PCI network function, described by their PCI address, driver
// and SR-IOV state.
func pfCandidates(g *globalOptions) completeFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		h, err := host.New(g.Root)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		pfs, err := sriov.Discover(h)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		var out []string
		for _, p := range pfs {
			desc := fmt.Sprintf("%s, %s", p.Addr, p.SRIOVState())
			for _, n := range p.Netdevs {
				out = append(out, n.Name+"\t"+desc)
			}
			if strings.Contains(toComplete, ":") {
				out = append(out, p.Addr+"\t"+p.SRIOVState())
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// backupIDs completes rollback --id with the backups setup made, newest
// first, each described by its reason and file count.
func backupIDs(g *globalOptions) completeFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		h, err := host.New(g.Root)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		ms, err := h.Backups()
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		sort.Slice(ms, func(i, j int) bool { return ms[i].ID > ms[j].ID })
		var out []string
		for _, m := range ms {
			out = append(out, fmt.Sprintf("%s\t%s, %d file(s)", m.ID, m.Reason, m.Files()))
		}
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveKeepOrder
	}
}

// numaNodes lists the NUMA nodes of the host under --root.
func numaNodes(g *globalOptions) []string {
	h, err := host.New(g.Root)
	if err != nil {
		return nil
	}
	nodes, _ := h.Glob("/sys/devices/system/node/node[0-9]*")
	var out []string
	for _, n := range nodes {
		out = append(out, strings.TrimPrefix(n[strings.LastIndexByte(n, '/')+1:], "node"))
	}
	return out
}
