package sriov

import (
	"fmt"
	"net"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/host"
)

// Critical is a network interface the host must not lose, and why.
type Critical struct {
	Name string
	Why  string
}

// Getenv reads $SSH_CONNECTION for CriticalIfaces; tests replace it.
var Getenv = os.Getenv

// CriticalIfaces lists the interfaces whose loss cuts this host off: those
// carrying a default route (IPv4 or IPv6: /proc/net/route and
// /proc/net/ipv6_route under the root, and netlink where the host is the
// live one or env.NL is given), the one holding the local address of this
// SSH session ($SSH_CONNECTION), and every interface below those (bridge
// and bond ports, a VLAN's parent: sysfs lower_* links).
func CriticalIfaces(env *engine.Env) ([]Critical, error) {
	var out []Critical
	add := func(name, why string) {
		for i := range out {
			if out[i].Name == name {
				if !strings.Contains(out[i].Why, why) {
					out[i].Why += " and " + why
				}
				return
			}
		}
		out = append(out, Critical{name, why})
	}
	routed, err := DefaultRouteIfaces(env.Host)
	if err != nil {
		return nil, fmt.Errorf("reading the routes: %w", err)
	}
	for _, r := range routed {
		add(r, "carries the default route")
	}
	if env.NL != nil || env.Host.IsLive() {
		if nl := env.Netlink(); nl != nil {
			if routes, err := nl.RouteList(nil, 0); err == nil {
				for _, r := range routes {
					if r.Dst != nil {
						if ones, _ := r.Dst.Mask.Size(); ones != 0 {
							continue
						}
					}
					idx := []int{r.LinkIndex}
					for _, hop := range r.MultiPath {
						idx = append(idx, hop.LinkIndex)
					}
					for _, i := range idx {
						if l, err := nl.LinkByIndex(i); i > 0 && err == nil {
							add(l.Attrs().Name, "carries the default route")
						}
					}
				}
			}
			if f := strings.Fields(Getenv("SSH_CONNECTION")); len(f) == 4 {
				if ip := net.ParseIP(f[2]); ip != nil {
					addrs, _ := nl.AddrList(nil, 0)
					for _, a := range addrs {
						if l, err := nl.LinkByIndex(a.LinkIndex); a.IP.Equal(ip) && err == nil {
							add(l.Attrs().Name, "holds "+f[2]+", the address of this SSH session")
						}
					}
				}
			}
		}
	}
	// The interfaces below: a bridge's ports, a bond's slaves, a VLAN's parent.
	for i := 0; i < len(out); i++ {
		lowers, _ := env.Host.Glob("/sys/class/net/" + out[i].Name + "/lower_*")
		for _, l := range lowers {
			add(strings.TrimPrefix(path.Base(l), "lower_"), "is below "+out[i].Name+", which "+out[i].Why)
		}
	}
	return out, nil
}

// Netdevs lists the network interfaces of a PCI function: its own, and a
// virtio device's on it.
func Netdevs(h *host.Host, addr string) []string {
	dev := PCIDevices + "/" + addr
	var out []string
	for _, g := range []string{dev + "/net/*", dev + "/virtio*/net/*"} {
		m, _ := h.Glob(g)
		for _, p := range m {
			out = append(out, path.Base(p))
		}
	}
	sort.Strings(out)
	return out
}

// Bifurcated reports whether the PCI function's driver is bifurcated: the
// kernel keeps the device (and its netdev) while DPDK drives it, as mlx5
// does. Such devices are never bound to vfio-pci.
func Bifurcated(h *host.Host, addr string) bool {
	dev := PCIDevices + "/" + addr
	v, _ := h.ReadString(dev + "/vendor")
	return strings.TrimPrefix(v, "0x") == MellanoxVendor || linkBase(h, dev+"/driver") == "mlx5_core"
}

// VFIORefusal says why the PCI function at addr must not be bound to
// vfio-pci (nil when nothing speaks against it): a bifurcated driver keeps
// it; a PF with VFs loses them when unbound from its driver; an interface
// of it carries the default route or this SSH session. photonctl never
// plans, suggests nor performs such a binding.
func VFIORefusal(env *engine.Env, addr string) error {
	h := env.Host
	dev := PCIDevices + "/" + addr
	drv := orNone(linkBase(h, dev+"/driver"), false)
	if Bifurcated(h, addr) {
		return fmt.Errorf("%s is on %s, a bifurcated driver: DPDK drives it while the kernel keeps it, and binding it to vfio-pci breaks that", addr, drv)
	}
	n, err := h.ReadInt(dev + "/sriov_numvfs")
	if err != nil || n <= 0 {
		vfs, _ := h.Glob(dev + "/virtfn*")
		n = int64(len(vfs))
	}
	if n > 0 {
		return fmt.Errorf("%s is the PF of %d VFs: unbinding it from %s removes them (and its own netdev); DPDK uses a VF instead", addr, n, drv)
	}
	crit, err := CriticalIfaces(env)
	if err != nil {
		return err
	}
	for _, nd := range Netdevs(h, addr) {
		for _, c := range crit {
			if c.Name == nd {
				return fmt.Errorf("%s is %s, which %s: binding it to vfio-pci cuts this host off the network", addr, nd, c.Why)
			}
		}
	}
	return nil
}
