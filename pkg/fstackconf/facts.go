package fstackconf

import (
	"errors"
	"fmt"

	"net/netip"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/spec"
	"github.com/photonctl/photonctl/pkg/sriov"
)

// ErrNoPF means no physical function was given and none could be found: no
// link carrying the default route has a PCI device.
var ErrNoPF = errors.New("no PF for F-Stack")

// ErrNoAddress means the PF lacks what [port0] is made of (an IPv4 address,
// a default route through it).
var ErrNoAddress = errors.New("the PF has no usable IPv4 address or gateway")

// Facts is what f-stack.conf is filled from.
type Facts struct {
	PF    string // interface name
	PFPCI string // 0000:03:00.0
	VFPCI string // the first VF, "" when there is none
	// VFPredicted: the VF does not exist yet; its address is the PF's plus
	// sriov_offset (what the sriov step will create).
	VFPredicted bool
	// Bifurcated: the PF's driver keeps the device while DPDK drives it
	// (mlx5), so the PF stands in the allow-list beside its VF.
	Bifurcated bool

	Addr, Netmask, Broadcast, Gateway string
	// Own: [port0] is F-Stack's own address (spec fstack_addr), not the
	// PF's; GatewayFrom says where its gateway came from.
	Own             bool
	GatewayFrom     string
	Addr6, Gateway6 string
	Prefix6         int

	NUMANode  int
	NodeCPUs  CPUSet // CPUs of the PF's NUMA node that are online
	Online    CPUSet
	LcoreMask string
	Notes     []string
}

// Allow is the allow-list, as the PF's driver wants it: for a bifurcated
// driver (mlx5) the PF, then the VF (the kernel keeps the PF); for any
// other (igb, ixgbe, i40e, virtio) the VF only, which DPDK drives on
// vfio-pci (sriov --bind-vfio), or the PF itself when it has no VF (Gather
// refuses that for a PF the host cannot lose).
func (f *Facts) Allow() []string {
	switch {
	case f.VFPCI == "":
		return []string{f.PFPCI}
	case f.Bifurcated:
		return []string{f.PFPCI, f.VFPCI}
	}
	return []string{f.VFPCI}
}

// Gather reads the facts from the host (sysfs under its root) and netlink
// (env.Netlink(): the PF's addresses and the default route).
func Gather(env *engine.Env) (*Facts, error) {
	nl := env.Netlink()
	if nl == nil {
		return nil, fmt.Errorf("cannot open netlink to read the PF's address")
	}
	h := env.Host
	link, err := findPF(h, nl, env.Spec)
	if err != nil {
		return nil, err
	}
	f := &Facts{PF: link.Attrs().Name}
	pci, ok := pciOf(h, f.PF)
	if !ok {
		return nil, fmt.Errorf("%w: link %s has no PCI device (/sys/class/net/%s/device); give the PF with --pf", ErrNoPF, f.PF, f.PF)
	}
	f.PFPCI = pci
	if env.Spec.FstackAddr != "" {
		err = f.own(nl, link, env.Spec)
	} else {
		err = f.ipv4(nl, link)
	}
	if err != nil {
		return nil, err
	}
	switch {
	case env.Spec.IPv6 && f.Own:
		// The PF's IPv6 address would be the kernel's too: the same
		// conflict (neighbour discovery) fstack_addr avoids for IPv4.
		f.Notes = append(f.Notes, fmt.Sprintf("--ipv6 with --fstack-addr: the IPv6 keys are left out (%s's IPv6 address is the kernel's; give [port0] addr6 of F-Stack's own by hand)", f.PF))
	case env.Spec.IPv6:
		f.ipv6(nl, link)
	}
	f.vf(h, env.Spec)
	f.Bifurcated = sriov.Bifurcated(h, f.PFPCI)
	if err := f.needsVFIO(env); err != nil {
		return nil, err
	}
	if !f.Own && !f.Bifurcated && f.VFPCI != "" {
		f.Notes = append(f.Notes, fmt.Sprintf("[port0] is %s's own address %s, but DPDK drives VF %s on vfio-pci (%s is not bifurcated): the kernel and F-Stack would both answer ARP for %s; give F-Stack an address of its own with --fstack-addr ADDR/LEN (and --fstack-gateway GW)",
			f.PF, f.Addr, f.VFPCI, f.PF, f.Addr))
	}
	if err := f.cpus(h); err != nil {
		return nil, err
	}
	return f, nil
}

// needsVFIO checks what DPDK will need bound to vfio-pci. A non-bifurcated
// PF without a VF would itself be allow-listed, and DPDK needs it on
// vfio-pci: refused when that cannot be done safely (it carries the
// default route or this SSH session, it has VFs). Without --pf (the PF is
// the default route's NIC) that skips the step; with --pf it is bad input.
// A VF not on vfio-pci gets a note, unless --bind-vfio binds it.
func (f *Facts) needsVFIO(env *engine.Env) error {
	if f.Bifurcated {
		return nil
	}
	if f.VFPCI != "" {
		drv := ""
		if t, err := env.Host.ReadLink("/sys/bus/pci/devices/" + f.VFPCI + "/driver"); err == nil {
			drv = path.Base(t)
		}
		if drv != "vfio-pci" && !env.Spec.BindVFIO {
			if drv == "" {
				drv = "no driver"
			}
			f.Notes = append(f.Notes, fmt.Sprintf("VF %s is on %s: DPDK needs it on vfio-pci (photonctl setup --only sriov --vfs N --bind-vfio)", f.VFPCI, drv))
		}
		return nil
	}
	why := sriov.VFIORefusal(env, f.PFPCI)
	if why == nil {
		f.Notes = append(f.Notes, fmt.Sprintf("%s (%s) is not bifurcated: DPDK needs it on vfio-pci (dpdk-devbind.py --bind=vfio-pci %s)", f.PF, f.PFPCI, f.PFPCI))
		return nil
	}
	msg := fmt.Sprintf("F-Stack would drive %s itself (%v), and DPDK needs it on vfio-pci: photonctl will not allow-list it. "+
		"Give --pf a NIC this host can spare, or create VFs on an SR-IOV PF for F-Stack (--pf PF --vfs N --bind-vfio)", f.PF, why)
	if env.Spec.PF == "" {
		return fmt.Errorf("%w: %s", ErrNoPF, msg)
	}
	return engine.BadInput("--pf %s: %s", env.Spec.PF, msg)
}

// pciOf finds the PCI address of a network interface: its device, or the
// nearest PCI device above it (a virtio-net link's device is virtioN, a child
// of the PCI function).
func pciOf(h *host.Host, ifname string) (string, bool) {
	p, err := filepath.EvalSymlinks(h.Path("/sys/class/net/" + ifname + "/device"))
	if err != nil {
		return "", false
	}
	root := filepath.Clean(h.Root())
	for p != root && p != "/" && p != "." {
		if b := filepath.Base(p); spec.IsPCIAddress(b) && strings.Count(b, ":") == 2 {
			return b, true
		}
		p = filepath.Dir(p)
	}
	return "", false
}

func findPF(h *host.Host, nl *netlink.Handle, s spec.Spec) (netlink.Link, error) {
	name := s.PF
	if spec.IsPCIAddress(name) {
		pci := name
		if strings.Count(pci, ":") == 1 {
			pci = "0000:" + pci
		}
		ents, err := h.ReadDir("/sys/bus/pci/devices/" + pci + "/net")
		if err != nil || len(ents) == 0 {
			return nil, engine.BadInput("--pf %s: the PCI device has no network interface (/sys/bus/pci/devices/%s/net); is its kernel driver bound?", s.PF, pci)
		}
		name = ents[0].Name()
	}
	if name != "" {
		l, err := nl.LinkByName(name)
		if err != nil {
			return nil, engine.BadInput("--pf %s: no such network interface (%v)", s.PF, err)
		}
		return l, nil
	}
	routes, err := nl.RouteList(nil, unix.AF_INET)
	if err != nil {
		return nil, fmt.Errorf("listing routes: %w", err)
	}
	for _, r := range routes {
		if isDefault(r) && r.LinkIndex > 0 {
			l, err := nl.LinkByIndex(r.LinkIndex)
			if err != nil {
				return nil, fmt.Errorf("the default route's link %d: %w", r.LinkIndex, err)
			}
			return l, nil
		}
	}
	return nil, fmt.Errorf("%w: --pf is not given and no link carries an IPv4 default route", ErrNoPF)
}

func isDefault(r netlink.Route) bool {
	if r.Dst == nil {
		return true
	}
	ones, _ := r.Dst.Mask.Size()
	return ones == 0 && r.Dst.IP.IsUnspecified()
}

func (f *Facts) ipv4(nl *netlink.Handle, link netlink.Link) error {
	addrs, err := nl.AddrList(link, unix.AF_INET)
	if err != nil {
		return fmt.Errorf("listing the addresses of %s: %w", f.PF, err)
	}
	var pfx netip.Prefix
	for _, a := range addrs {
		if a.Flags&unix.IFA_F_SECONDARY != 0 || a.Scope != unix.RT_SCOPE_UNIVERSE {
			continue
		}
		ip, ok := netip.AddrFromSlice(a.IP.To4())
		if !ok {
			continue
		}
		ones, _ := a.Mask.Size()
		pfx = netip.PrefixFrom(ip, ones)
		if a.Broadcast != nil {
			f.Broadcast = a.Broadcast.String()
		}
		break
	}
	if !pfx.IsValid() {
		return fmt.Errorf("%w: %s has no global IPv4 address; give it its address first (ip addr add ADDR/LEN dev %s)", ErrNoAddress, f.PF, f.PF)
	}
	f.Addr, f.Netmask = pfx.Addr().String(), Netmask(pfx.Bits()).String()
	if f.Broadcast == "" || f.Broadcast == "0.0.0.0" {
		f.Broadcast = Broadcast(pfx).String()
	}
	routes, err := nl.RouteList(link, unix.AF_INET)
	if err != nil {
		return fmt.Errorf("listing the routes of %s: %w", f.PF, err)
	}
	for _, r := range routes {
		if isDefault(r) && r.Gw != nil {
			f.Gateway = r.Gw.String()
			return nil
		}
	}
	return fmt.Errorf("%w: no IPv4 default route goes through %s; F-Stack's [port0] needs a gateway (ip route add default via GW dev %s)", ErrNoAddress, f.PF, f.PF)
}

// own fills [port0] from spec fstack_addr (checked by spec.Validate): F-Stack's
// own address on the PF's network. The address must be one no link of this
// host has (else the kernel and F-Stack both answer ARP for it); the gateway
// is fstack_gateway, else the PF's IPv4 default route's when it lies inside
// the prefix. The PF itself needs no address then.
func (f *Facts) own(nl *netlink.Handle, link netlink.Link, s spec.Spec) error {
	pfx, err := netip.ParsePrefix(s.FstackAddr)
	if err != nil || !pfx.Addr().Is4() {
		return engine.BadInput("--fstack-addr %q: give an IPv4 address with its prefix length, such as 10.0.3.20/24", s.FstackAddr)
	}
	if on, err := KernelHas(nl, pfx.Addr()); err != nil {
		return err
	} else if on != "" {
		return engine.BadInput("--fstack-addr %s: %s already has %s: the kernel answers ARP for it there, and F-Stack would too; F-Stack needs an address no link of this host has; give a free one on %s's network (ip -4 addr shows the taken ones)",
			s.FstackAddr, on, pfx.Addr(), f.PF)
	}
	f.Own = true
	f.Addr, f.Netmask, f.Broadcast = pfx.Addr().String(), Netmask(pfx.Bits()).String(), spec.Broadcast4(pfx).String()
	if s.FstackGateway != "" {
		f.Gateway, f.GatewayFrom = s.FstackGateway, "--fstack-gateway"
		return nil
	}
	routes, err := nl.RouteList(link, unix.AF_INET)
	if err != nil {
		return fmt.Errorf("listing the routes of %s: %w", f.PF, err)
	}
	why := fmt.Sprintf("no IPv4 default route goes through %s", f.PF)
	for _, r := range routes {
		if !isDefault(r) || r.Gw == nil {
			continue
		}
		gw, ok := netip.AddrFromSlice(r.Gw.To4())
		if ok && pfx.Contains(gw) && gw != pfx.Addr() {
			f.Gateway, f.GatewayFrom = gw.String(), f.PF+"'s default route"
			return nil
		}
		why = fmt.Sprintf("%s's default route goes via %s, outside %s", f.PF, r.Gw, pfx.Masked())
		break
	}
	return engine.BadInput("--fstack-addr %s: %s, and F-Stack requires a gateway in [port0] (F-Stack 1.24 lib/ff_config.c checks it and will not start without one): give the router of %s with --fstack-gateway GW",
		s.FstackAddr, why, pfx.Masked())
}

// KernelHas names the link that has IPv4 address a in nl's namespace, ""
// when none has. Equivalent to: ip -4 addr show to a/32.
func KernelHas(nl *netlink.Handle, a netip.Addr) (string, error) {
	addrs, err := nl.AddrList(nil, unix.AF_INET)
	if err != nil {
		return "", fmt.Errorf("listing the host's IPv4 addresses: %w", err)
	}
	for _, x := range addrs {
		if ip, ok := netip.AddrFromSlice(x.IP.To4()); ok && ip == a {
			name := fmt.Sprintf("link %d", x.LinkIndex)
			if l, err := nl.LinkByIndex(x.LinkIndex); err == nil {
				name = l.Attrs().Name
			}
			return name, nil
		}
	}
	return "", nil
}

func (f *Facts) ipv6(nl *netlink.Handle, link netlink.Link) {
	addrs, err := nl.AddrList(link, unix.AF_INET6)
	if err == nil {
		for _, a := range addrs {
			if a.IP.IsGlobalUnicast() && a.Flags&unix.IFA_F_TENTATIVE == 0 {
				f.Addr6 = a.IP.String()
				f.Prefix6, _ = a.Mask.Size()
				break
			}
		}
	}
	if f.Addr6 == "" {
		f.Notes = append(f.Notes, fmt.Sprintf("--ipv6: %s has no global IPv6 address; the IPv6 keys are left out", f.PF))
		return
	}
	routes, err := nl.RouteList(link, unix.AF_INET6)
	if err == nil {
		for _, r := range routes {
			if isDefault(r) && r.Gw != nil {
				f.Gateway6 = r.Gw.String()
				return
			}
		}
	}
	f.Notes = append(f.Notes, fmt.Sprintf("--ipv6: no IPv6 default route through %s; gateway6 is left out", f.PF))
}

// vf picks the PF's first VF: virtfn0 when the VFs exist, else the address
// sriov_offset predicts when setup is asked to create VFs.
func (f *Facts) vf(h *host.Host, s spec.Spec) {
	if t, err := h.ReadLink("/sys/bus/pci/devices/" + f.PFPCI + "/virtfn0"); err == nil {
		f.VFPCI = path.Base(t)
		return
	}
	if s.VFs > 0 {
		off, err1 := h.ReadInt("/sys/bus/pci/devices/" + f.PFPCI + "/sriov_offset")
		if err1 == nil {
			if vf, err := OffsetPCI(f.PFPCI, int(off)); err == nil {
				f.VFPCI, f.VFPredicted = vf, true
				f.Notes = append(f.Notes, fmt.Sprintf("VF %s is not created yet: its address is predicted from sriov_offset", vf))
				return
			}
		}
	}
	f.Notes = append(f.Notes, fmt.Sprintf("%s has no VF (create some with --vfs N): only the PF is allow-listed", f.PF))
}

// OffsetPCI adds a routing-ID offset to a PCI address (bus, device and
// function form one 16-bit ID), the way SR-IOV numbers VFs.
func OffsetPCI(pci string, off int) (string, error) {
	var dom, bus, dev, fn int
	if _, err := fmt.Sscanf(pci, "%x:%x:%x.%x", &dom, &bus, &dev, &fn); err != nil {
		return "", fmt.Errorf("%q is not a PCI address: %w", pci, err)
	}
	rid := (bus<<8 | dev<<3 | fn) + off
	if rid > 0xffff || rid < 0 {
		return "", fmt.Errorf("%s + %d leaves the PCI bus", pci, off)
	}
	return fmt.Sprintf("%04x:%02x:%02x.%x", dom, rid>>8, (rid>>3)&0x1f, rid&7), nil
}

// cpus finds the PF's NUMA node and the online CPUs on it, and picks the
// lcore: the node's first CPU other than 0 (the kernel's housekeeping CPU)
// when there is a choice.
func (f *Facts) cpus(h *host.Host) error {
	b, err := h.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return fmt.Errorf("reading the online CPUs: %w", err)
	}
	if f.Online, err = ParseCPUList(b); err != nil {
		return fmt.Errorf("/sys/devices/system/cpu/online: %w", err)
	}
	f.NUMANode = -1
	if n, err := h.ReadInt("/sys/bus/pci/devices/" + f.PFPCI + "/numa_node"); err == nil && n >= 0 {
		f.NUMANode = int(n)
	}
	f.NodeCPUs = f.Online
	if f.NUMANode >= 0 {
		if b, err := h.ReadFile("/sys/devices/system/node/node" + strconv.Itoa(f.NUMANode) + "/cpulist"); err == nil {
			if node, err := ParseCPUList(b); err == nil {
				in := CPUSet{}
				for c := range node {
					if f.Online[c] {
						in[c] = true
					}
				}
				if len(in) > 0 {
					f.NodeCPUs = in
				}
			}
		}
	}
	cpus := f.NodeCPUs.Sorted()
	if len(cpus) == 0 {
		return fmt.Errorf("no online CPU found in /sys/devices/system/cpu/online")
	}
	pick := cpus[0]
	if pick == 0 && len(cpus) > 1 {
		pick = cpus[1]
	}
	f.LcoreMask = MaskOf([]int{pick})
	return nil
}
