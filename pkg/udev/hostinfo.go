package udev

import (
	"context"
	"net"
	"strings"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/host"
)

// initramfsCmd is the command that rebuilds the initramfs on this
// distribution, from /etc/os-release: dracut -f on EL and Fedora,
// update-initramfs -u on Debian and Ubuntu; nil when neither fits.
func initramfsCmd(h *host.Host) []string {
	b, err := h.ReadFile("/etc/os-release")
	if err != nil {
		b, _ = h.ReadFile("/usr/lib/os-release")
	}
	ids := map[string]bool{}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(l), "=")
		if !ok || (k != "ID" && k != "ID_LIKE") {
			continue
		}
		for _, id := range strings.Fields(strings.Trim(v, `"'`)) {
			ids[id] = true
		}
	}
	switch {
	case ids["rhel"] || ids["centos"] || ids["fedora"] || ids["rocky"] || ids["almalinux"] || ids["ol"]:
		return []string{"dracut", "-f"}
	case ids["debian"] || ids["ubuntu"]:
		return []string{"update-initramfs", "-u"}
	}
	return nil
}

// cmdlineHas reports whether the running kernel's command line (/proc/cmdline)
// holds arg as a whole token.
func cmdlineHas(h *host.Host, arg string) bool {
	s, err := h.ReadString("/proc/cmdline")
	return err == nil && hasToken(s, arg)
}

func hasToken(s, tok string) bool {
	for _, f := range strings.Fields(s) {
		if f == tok {
			return true
		}
	}
	return false
}

// grubHas reports whether a GRUB_CMDLINE_LINUX or GRUB_CMDLINE_LINUX_DEFAULT
// line of /etc/default/grub holds arg as a whole token. It is a look, not a
// parser: the grub step owns that file.
func grubHas(h *host.Host, arg string) bool {
	b, err := h.ReadFile("/etc/default/grub")
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		k, v, ok := strings.Cut(l, "=")
		if !ok || (k != "GRUB_CMDLINE_LINUX" && k != "GRUB_CMDLINE_LINUX_DEFAULT") {
			continue
		}
		if hasToken(strings.Trim(v, `"'`), arg) {
			return true
		}
	}
	return false
}

// critical is a link the host must not lose: it carries the default route
// or the SSH session photonctl runs in.
type critical struct {
	Name string
	Why  string
}

// criticalLinks finds the default-route links (`ip route show default`, all
// families, multipath hops too) and the link holding the local address of
// $SSH_CONNECTION.
func criticalLinks(_ context.Context, env *engine.Env, inv *Inventory, getenv func(string) string) ([]critical, error) {
	nl := env.Netlink()
	byIndex := map[int]string{}
	for _, l := range inv.Links {
		byIndex[l.Attrs().Index] = l.Attrs().Name
	}
	var out []critical
	add := func(idx int, why string) {
		n, ok := byIndex[idx]
		if !ok {
			return
		}
		for i := range out {
			if out[i].Name == n {
				if !strings.Contains(out[i].Why, why) {
					out[i].Why += " and " + why
				}
				return
			}
		}
		out = append(out, critical{n, why})
	}
	routes, err := nl.RouteList(nil, 0)
	if err != nil {
		return nil, err
	}
	for _, r := range routes {
		if r.Dst != nil {
			if ones, _ := r.Dst.Mask.Size(); ones != 0 {
				continue
			}
		}
		if r.LinkIndex > 0 {
			add(r.LinkIndex, "carries the default route")
		}
		for _, hop := range r.MultiPath {
			add(hop.LinkIndex, "carries the default route")
		}
	}
	if sc := getenv("SSH_CONNECTION"); sc != "" {
		f := strings.Fields(sc)
		if len(f) == 4 {
			if ip := net.ParseIP(f[2]); ip != nil {
				addrs, err := nl.AddrList(nil, 0)
				if err != nil {
					return nil, err
				}
				for _, a := range addrs {
					if a.IP.Equal(ip) {
						add(a.LinkIndex, "holds "+f[2]+", the address of this SSH session")
					}
				}
			}
		}
	}
	return out, nil
}

// physicalBelow lists the NIC names under link name: itself if it is in the
// inventory (or skipped but physical), else the links enslaved to it or
// stacked on it (bridge and bond ports, a VLAN's parent), recursively.
func physicalBelow(inv *Inventory, name string) []string {
	return below(inv, name, map[string]bool{})
}

func below(inv *Inventory, name string, seen map[string]bool) []string {
	if seen[name] {
		return nil
	}
	seen[name] = true
	if _, ok := inv.NIC(name); ok {
		return []string{name}
	}
	for _, s := range inv.Skipped {
		if s.Name == name && !strings.HasPrefix(s.Reason, "virtual") {
			return []string{name}
		}
	}
	var idx, parent int
	for _, l := range inv.Links {
		if l.Attrs().Name == name {
			idx, parent = l.Attrs().Index, l.Attrs().ParentIndex
		}
	}
	var out []string
	for _, l := range inv.Links {
		a := l.Attrs()
		if (idx != 0 && a.MasterIndex == idx) || (parent != 0 && a.Index == parent) {
			out = append(out, below(inv, a.Name, seen)...)
		}
	}
	return out
}
