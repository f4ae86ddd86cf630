package udev

import (
	"errors"
	"fmt"
	"net"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"

	"github.com/photonctl/photonctl/pkg/host"
)

// NIC is a physical network interface photonctl can name: one with a PCI
// device, not a VF, with a MAC no other link has.
type NIC struct {
	Name  string
	Index int
	// MAC is the permanent MAC where the kernel reports one
	// (IFLA_PERM_ADDRESS, netlink's PermHWAddr: bond members and some
	// drivers rewrite the current one), else the current MAC.
	MAC       net.HardwareAddr
	MACSource string // "permanent" or "current"
	DevID     string // sysfs dev_id, such as "0x0"
	DevPort   int    // sysfs dev_port; -1 when the kernel has none
	Type      int    // ARP hardware type (sysfs type): 1 for Ethernet
	Driver    string // "mlx5_core"
	PCI       string // "0000:03:00.0"
	// NameAssignType is sysfs name_assign_type (1 enum: the kernel's ethN;
	// 2 predictable: named by the driver; 3 user; 4 renamed); 0 unknown.
	NameAssignType int
	DevType        string // uevent DEVTYPE: "wlan", "wwan", or "" for plain Ethernet
}

// Skipped is a link the inventory leaves out, and why.
type Skipped struct {
	Name   string
	Reason string
	// Dup is set for a link that shares its MAC with another.
	Dup bool
}

// Inventory is what the host has: the NICs photonctl names, the links it
// leaves alone, and every link netlink lists.
type Inventory struct {
	NICs    []NIC
	Skipped []Skipped
	Links   []netlink.Link
}

// ErrNotUnique marks two NICs with one MAC.
var ErrNotUnique = errors.New("not uniquely identifiable")

// ErrNoNetlink marks a host whose links cannot be listed.
var ErrNoNetlink = errors.New("cannot list network links")

// Take lists the links through nl (the network namespace to work in) and
// reads each one's device from sysfs under h. Equivalent to: `ip -d link
// show` plus `ls -l /sys/class/net/*/device`.
func Take(h *host.Host, nl *netlink.Handle) (*Inventory, error) {
	if nl == nil {
		return nil, fmt.Errorf("%w: no netlink socket (are you root?)", ErrNoNetlink)
	}
	links, err := nl.LinkList()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoNetlink, err)
	}
	sort.Slice(links, func(i, j int) bool { return links[i].Attrs().Index < links[j].Attrs().Index })
	inv := &Inventory{Links: links}
	for _, l := range links {
		n, why := readNIC(h, l)
		if why != "" {
			inv.Skipped = append(inv.Skipped, Skipped{Name: l.Attrs().Name, Reason: why})
			continue
		}
		inv.NICs = append(inv.NICs, n)
	}
	inv.dropDuplicates()
	return inv, nil
}

func readNIC(h *host.Host, l netlink.Link) (NIC, string) {
	a := l.Attrs()
	dir := "/sys/class/net/" + a.Name
	if _, err := h.ReadLink(dir + "/device"); err != nil {
		return NIC{}, "virtual: no device link in " + dir
	}
	if addr, err := h.ReadString(dir + "/address"); err == nil && len(a.HardwareAddr) > 0 && !strings.EqualFold(addr, a.HardwareAddr.String()) {
		// Only with --root: the tree is another host's, or stale.
		return NIC{}, fmt.Sprintf("%s/address says %s but netlink says %s: the sysfs under the root is not this link's", dir, addr, a.HardwareAddr)
	}
	if h.Exists(dir + "/device/physfn") {
		return NIC{}, "a VF (device/physfn exists): its MAC may be random; the PF's driver or its PCI path names it"
	}
	pci, _ := pciDevice(h, dir)
	n := NIC{Name: a.Name, Index: a.Index, PCI: pci, DevPort: -1}
	if drv, err := h.ReadLink(dir + "/device/driver"); err == nil {
		n.Driver = path.Base(drv)
	}
	switch {
	case nonZero(a.PermHWAddr):
		n.MAC, n.MACSource = a.PermHWAddr, "permanent"
	case nonZero(a.HardwareAddr):
		n.MAC, n.MACSource = a.HardwareAddr, "current"
		if t, err := h.ReadInt(dir + "/addr_assign_type"); err == nil && (t == 1 || t == 3) {
			what := map[int64]string{1: "random", 3: "set at run time"}[t]
			return NIC{}, fmt.Sprintf("its MAC %s is %s (addr_assign_type %d) and the kernel reports no permanent MAC: a rule by MAC would not find it after the reboot", a.HardwareAddr, what, t)
		}
	default:
		return NIC{}, "no MAC address"
	}
	n.DevID = "0x0"
	if s, err := h.ReadString(dir + "/dev_id"); err == nil && s != "" {
		n.DevID = s
	}
	if v, err := h.ReadInt(dir + "/dev_port"); err == nil {
		n.DevPort = int(v)
	}
	n.Type = 1
	if v, err := h.ReadInt(dir + "/type"); err == nil {
		n.Type = int(v)
	} else if a.EncapType != "" && a.EncapType != "ether" {
		return NIC{}, fmt.Sprintf("link type %q and no sysfs type attribute", a.EncapType)
	}
	if v, err := h.ReadInt(dir + "/name_assign_type"); err == nil {
		n.NameAssignType = int(v)
	}
	n.DevType = devType(h, dir)
	return n, ""
}

func nonZero(mac net.HardwareAddr) bool {
	for _, b := range mac {
		if b != 0 {
			return true
		}
	}
	return false
}

// dropDuplicates moves NICs that share a MAC to Skipped.
func (inv *Inventory) dropDuplicates() {
	by := map[string][]string{}
	for _, n := range inv.NICs {
		m := strings.ToLower(n.MAC.String())
		by[m] = append(by[m], n.Name)
	}
	var keep []NIC
	for _, n := range inv.NICs {
		names := by[strings.ToLower(n.MAC.String())]
		if len(names) > 1 {
			inv.Skipped = append(inv.Skipped, Skipped{Name: n.Name, Dup: true,
				Reason: fmt.Sprintf("%v: %s share the MAC %s", ErrNotUnique, strings.Join(names, " and "), n.MAC)})
			continue
		}
		keep = append(keep, n)
	}
	inv.NICs = keep
}

// Duplicates lists the links left out for sharing a MAC.
func (inv *Inventory) Duplicates() []Skipped {
	var out []Skipped
	for _, s := range inv.Skipped {
		if s.Dup {
			out = append(out, s)
		}
	}
	return out
}

// NIC returns the NIC with this name.
func (inv *Inventory) NIC(name string) (NIC, bool) {
	for _, n := range inv.NICs {
		if n.Name == name {
			return n, true
		}
	}
	return NIC{}, false
}

// LinkNames is the set of every link's name.
func (inv *Inventory) LinkNames() map[string]bool {
	m := map[string]bool{}
	for _, l := range inv.Links {
		m[l.Attrs().Name] = true
	}
	return m
}

// HasMAC reports whether a NIC (or any link) has this MAC, permanent or
// current.
func (inv *Inventory) HasMAC(mac string) bool {
	mac = strings.ToLower(mac)
	for _, l := range inv.Links {
		a := l.Attrs()
		if strings.ToLower(a.HardwareAddr.String()) == mac || (len(a.PermHWAddr) > 0 && strings.ToLower(a.PermHWAddr.String()) == mac) {
			return true
		}
	}
	return false
}

// kernelName reports whether name is one of the kernel's own ethN names.
func kernelName(name string) bool {
	if !strings.HasPrefix(name, "eth") || len(name) == 3 {
		return false
	}
	_, err := strconv.Atoi(name[3:])
	return err == nil && name[3] != '+' && name[3] != '-'
}

// Summary says in a line which links were left out and why.
func (inv *Inventory) Summary() string {
	var parts []string
	for _, s := range inv.Skipped {
		if s.Name == "lo" {
			continue
		}
		parts = append(parts, s.Name+" ("+s.Reason+")")
	}
	if len(parts) == 0 {
		return ""
	}
	return "left alone: " + strings.Join(parts, "; ")
}

// devType reads DEVTYPE= from the link's uevent file.
func devType(h *host.Host, dir string) string {
	b, err := h.ReadFile(dir + "/uevent")
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "DEVTYPE="); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// pinnable says why keep mode cannot pin n with the rule of NameRule, or "":
// the rule matches KERNEL=="eth*", the kernel's name for Ethernet NICs only.
func pinnable(n NIC) string {
	switch {
	case n.Type != 1:
		return fmt.Sprintf("ARP type %d is not Ethernet: the kernel does not name it eth*, and an InfiniBand address is not stable", n.Type)
	case n.DevType != "":
		return fmt.Sprintf("a %s device: the kernel does not name it eth*", n.DevType)
	}
	return ""
}
