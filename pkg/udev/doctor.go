package udev

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/photonctl/photonctl/pkg/doctor"
	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/netconf"
)

const fixKeep = "photonctl setup --only names --names keep"

// Checks are the doctor checks of the names group.
func Checks() []doctor.Check {
	s := New()
	return []doctor.Check{
		{ID: "names-rules", Group: doctor.GroupNames, Run: s.checkRules},
		{ID: "names-ifnames", Group: doctor.GroupNames, Run: s.checkIfnames},
		{ID: "names-config", Group: doctor.GroupNames, Run: s.checkConfig},
		{ID: "names-defroute", Group: doctor.GroupNames, Run: s.checkDefroute},
	}
}

func skip(detail string) []doctor.Result {
	return []doctor.Result{{Status: doctor.Skip, Detail: detail}}
}

// readOwnRules reads the keep mode's rules file: nil, nil when absent.
func readOwnRules(h *host.Host) (*File, error) {
	b, err := h.ReadFile(RulesPath)
	if host.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return Parse(b)
}

func invOrSkip(env *engine.Env) (*Inventory, []doctor.Result) {
	inv, err := Take(env.Host, env.Netlink())
	if err != nil {
		return nil, skip("cannot list the links: " + err.Error())
	}
	return inv, nil
}

// checkRules: the rules file parses, every rule's MAC is on a NIC of the
// host (a stale rule after a NIC swap), no two rules give one name.
func (s *Step) checkRules(ctx context.Context, env *engine.Env) []doctor.Result {
	f, err := readOwnRules(env.Host)
	switch {
	case host.IsPermission(err):
		return skip("cannot read " + RulesPath + ": not root")
	case errors.Is(err, ErrSyntax):
		return []doctor.Result{{Status: doctor.Fail, Detail: fmt.Sprintf("%s: %v: udev skips that line", RulesPath, err),
			Fix: "fix the line, or remove the file and run " + fixKeep}}
	case err != nil:
		return skip(fmt.Sprintf("reading %s: %v", RulesPath, err))
	case f == nil:
		return []doctor.Result{{Status: doctor.OK, Detail: RulesPath + " is absent: photonctl pins no names on this host"}}
	}
	inv, res := invOrSkip(env)
	if inv == nil {
		return res
	}
	pins := Pins(f)
	var out []doctor.Result
	byName := map[string][]Pin{}
	for _, p := range pins {
		byName[p.Name] = append(byName[p.Name], p)
		if !inv.HasMAC(p.MAC) {
			out = append(out, doctor.Result{Status: doctor.Fail,
				Detail: fmt.Sprintf("%s line %d names %s after MAC %s, which no interface on this host has (a NIC swapped?)", RulesPath, p.Line, p.Name, p.MAC),
				Fix:    fmt.Sprintf("remove line %d of %s, or rewrite the file for today's NICs: %s", p.Line, RulesPath, fixKeep)})
		}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if ps := byName[n]; len(ps) > 1 {
			var lines []string
			for _, p := range ps {
				lines = append(lines, fmt.Sprint(p.Line))
			}
			out = append(out, doctor.Result{Status: doctor.Fail,
				Detail: fmt.Sprintf("%s lines %s all name %s: only one NIC can have it, the others fail to rename", RulesPath, strings.Join(lines, ", "), n),
				Fix:    fmt.Sprintf("give each rule its own name in %s, or run %s", RulesPath, fixKeep)})
		}
	}
	if len(out) == 0 {
		out = append(out, doctor.Result{Status: doctor.OK, Detail: fmt.Sprintf("%s: %d rule(s), each MAC on a NIC of this host, no name twice", RulesPath, len(pins))})
	}
	return out
}

// checkIfnames: rules that pin kernel names (ethN) need net.ifnames=0,
// configured in /etc/default/grub and on the running kernel's command line.
func (s *Step) checkIfnames(ctx context.Context, env *engine.Env) []doctor.Result {
	f, err := readOwnRules(env.Host)
	if err != nil {
		return skip(fmt.Sprintf("reading %s: %v", RulesPath, err))
	}
	var eth []string
	if f != nil {
		for _, p := range Pins(f) {
			if kernelName(p.Name) {
				eth = append(eth, p.Name)
			}
		}
	}
	if len(eth) == 0 {
		return []doctor.Result{{Status: doctor.OK, Detail: "no rule pins a kernel name (ethN): net.ifnames=0 is not needed"}}
	}
	conf, run := grubHas(env.Host, "net.ifnames=0"), cmdlineHas(env.Host, "net.ifnames=0")
	what := fmt.Sprintf("%s pins %s", RulesPath, strings.Join(eth, ", "))
	switch {
	case conf && run:
		return []doctor.Result{{Status: doctor.OK, Detail: what + "; net.ifnames=0 is in /etc/default/grub and on the running kernel's command line"}}
	case conf:
		return []doctor.Result{{Status: doctor.Warn, Detail: what + "; net.ifnames=0 is in /etc/default/grub but not in /proc/cmdline: the reboot has not happened",
			Fix: "reboot (photonctl setup carries on after it)"}}
	case run:
		return []doctor.Result{{Status: doctor.Fail, Detail: what + "; net.ifnames=0 is on the running command line but not in /etc/default/grub: the next kernel update or grub rebuild drops it",
			Fix: "photonctl setup --only grub --names keep"}}
	}
	return []doctor.Result{{Status: doctor.Fail, Detail: what + "; net.ifnames=0 is neither in /etc/default/grub nor in /proc/cmdline",
		Fix: "photonctl setup --only grub --names keep (adds net.ifnames=0 to GRUB_CMDLINE_LINUX)"}}
}

// afterReboot is the set of names interfaces will have after the pending
// reboot: pinned names and predicted names.
func afterReboot(env *engine.Env) map[string]bool {
	out := map[string]bool{}
	st, err := survey(env)
	if err != nil {
		return out
	}
	for _, p := range st.preds {
		out[p.Name] = true
	}
	return out
}

// checkConfig: the network configuration names interfaces that exist now or
// will exist after the pending reboot.
func (s *Step) checkConfig(ctx context.Context, env *engine.Env) []doctor.Result {
	files, err := netconf.Find(env.Host)
	if err != nil {
		if host.IsPermission(err) {
			return skip("cannot read the network configuration: not root")
		}
		return skip(err.Error())
	}
	if len(files) == 0 {
		return []doctor.Result{{Status: doctor.Skip, Detail: "no ifcfg, NetworkManager keyfile, netplan or /etc/network/interfaces file found"}}
	}
	inv, res := invOrSkip(env)
	if inv == nil {
		return res
	}
	now := inv.LinkNames()
	later := afterReboot(env)
	var out []doctor.Result
	for _, f := range files {
		refs, err := netconf.Refs(f)
		if err != nil {
			out = append(out, doctor.Result{Status: doctor.Warn, Detail: fmt.Sprintf("%s: %v", f.Path, err), Fix: "fix the file by hand"})
			continue
		}
		for _, r := range refs {
			if r.Name == "" || now[r.Name] || later[r.Name] || now[base(r.Name)] || later[base(r.Name)] {
				continue
			}
			if r.MAC != "" && inv.HasMAC(r.MAC) {
				continue
			}
			out = append(out, doctor.Result{Status: doctor.Warn,
				Detail: fmt.Sprintf("%s names %s, which is no interface now and none predicted after the reboot", f.Path, r.Name),
				Fix:    fmt.Sprintf("point %s at an existing interface (ip -br link), or remove it if the NIC is gone", f.Path)})
		}
	}
	if len(out) == 0 {
		out = append(out, doctor.Result{Status: doctor.OK, Detail: fmt.Sprintf("%d network configuration file(s), each naming an interface that exists", len(files))})
	}
	return out
}

// base is the interface a VLAN or alias name is on (eth0.100 -> eth0).
func base(n string) string {
	if i := strings.IndexAny(n, ".:"); i > 0 {
		return n[:i]
	}
	return n
}

// checkDefroute: the default-route interface keeps a name its configuration
// matches after the reboot.
func (s *Step) checkDefroute(ctx context.Context, env *engine.Env) []doctor.Result {
	st, err := survey(env)
	if err != nil {
		return skip("cannot list the links: " + err.Error())
	}
	crit, err := criticalLinks(ctx, env, st.inv, s.getenv)
	if err != nil {
		return skip("cannot list the routes: " + err.Error())
	}
	files, _ := netconf.Find(env.Host)
	names, macs := map[string]bool{}, map[string]bool{}
	for _, f := range files {
		refs, _ := netconf.Refs(f)
		for _, r := range refs {
			names[r.Name] = r.Name != ""
			if r.MAC != "" {
				macs[r.MAC] = true
			}
		}
	}
	var out []doctor.Result
	for _, c := range crit {
		for _, p := range physicalBelow(st.inv, c.Name) {
			nic, ok := st.inv.NIC(p)
			if !ok {
				out = append(out, doctor.Result{Status: doctor.Warn, Detail: fmt.Sprintf("%s %s; photonctl cannot tell what %s is named after a reboot", c.Name, c.Why, p),
					Fix: "check its name by hand before rebooting"})
				continue
			}
			if perr, bad := st.perr[p]; bad {
				out = append(out, doctor.Result{Status: doctor.Warn, Detail: fmt.Sprintf("%s %s; %v", c.Name, c.Why, perr), Fix: fixKeep})
				continue
			}
			pred := st.preds[p]
			if pred.Name != p {
				out = append(out, doctor.Result{Status: doctor.Fail,
					Detail: fmt.Sprintf("%s %s; after the reboot %s will be %s (%s) and its configuration will not match", c.Name, c.Why, p, pred.Name, pred.Source),
					Fix:    fixKeep + " (or photonctl setup --only names --names scripts)"})
				continue
			}
			if !names[p] && !macs[strings.ToLower(nic.MAC.String())] && !names[c.Name] {
				out = append(out, doctor.Result{Status: doctor.Warn,
					Detail: fmt.Sprintf("%s %s; its name is stable (%s) but no ifcfg, keyfile, netplan or interfaces file names it", c.Name, c.Why, pred.Source),
					Fix:    "make sure whatever configures it (cloud-init, systemd-networkd) matches " + p})
				continue
			}
			out = append(out, doctor.Result{Status: doctor.OK, Detail: fmt.Sprintf("%s %s; %s keeps its name after the reboot (%s) and its configuration names it", c.Name, c.Why, p, pred.Source)})
		}
	}
	if len(out) == 0 {
		out = append(out, doctor.Result{Status: doctor.Skip, Detail: "no default route and no SSH session on a link of this namespace"})
	}
	return out
}
