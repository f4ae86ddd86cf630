package mlnx

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/photonctl/photonctl/pkg/host"
)

// VendorID is Mellanox's PCI vendor ID as sysfs prints it.
const VendorID = "0x15b3"

// PF is one Mellanox physical function with a network interface.
type PF struct {
	PCI      string   // "0000:03:00.0"
	Device   string   // PCI device ID, "0x1015"
	Driver   string   // "mlx5_core"; "" when unbound
	Netdevs  []string // "enp3s0f0"
	TotalVFs int      // sriov_totalvfs; -1 when the file is missing (SR-IOV off in firmware)
	NumVFs   int      // sriov_numvfs; -1 when missing
	VFs      []VF
}

// VF is a virtual function of a PF.
type VF struct {
	PCI    string
	Driver string
}

// Model names the card from its device ID, "" when unknown.
func (p PF) Model() string { return deviceNames[p.Device] }

// Card is one NIC: its PFs share a PCI slot (domain:bus:device) and one
// firmware configuration.
type Card struct {
	Slot string // "0000:03:00"
	PFs  []PF
}

// First is the card's lowest function, the one firmware tools are pointed at.
func (c Card) First() PF { return c.PFs[0] }

// deviceNames are the ConnectX device IDs photonctl names (PFs only).
var deviceNames = map[string]string{
	"0x1013": "ConnectX-4", "0x1015": "ConnectX-4 Lx", "0x1017": "ConnectX-5",
	"0x1019": "ConnectX-5 Ex", "0x101b": "ConnectX-6", "0x101d": "ConnectX-6 Dx",
	"0x101f": "ConnectX-6 Lx", "0x1021": "ConnectX-7", "0x1023": "ConnectX-8",
	"0xa2d6": "BlueField-2", "0xa2dc": "BlueField-3",
}

// Discover scans /sys/bus/pci/devices for Mellanox functions that are PFs
// (no physfn link) with a net/ folder, and groups them by card.
func Discover(h *host.Host) ([]Card, error) {
	devs, err := h.Glob("/sys/bus/pci/devices/*")
	if err != nil {
		return nil, fmt.Errorf("listing /sys/bus/pci/devices: %w", err)
	}
	bySlot := map[string]*Card{}
	for _, d := range devs {
		v, err := h.ReadString(d + "/vendor")
		if err != nil || !strings.EqualFold(v, VendorID) {
			continue
		}
		if _, err := h.ReadLink(d + "/physfn"); err == nil {
			continue // a VF
		}
		ents, err := h.ReadDir(d + "/net")
		if err != nil || len(ents) == 0 {
			continue
		}
		pf := PF{PCI: path.Base(d), TotalVFs: readIntOr(h, d+"/sriov_totalvfs", -1), NumVFs: readIntOr(h, d+"/sriov_numvfs", -1)}
		pf.Device, _ = h.ReadString(d + "/device")
		pf.Device = strings.ToLower(pf.Device)
		pf.Driver = driverOf(h, d)
		for _, e := range ents {
			pf.Netdevs = append(pf.Netdevs, e.Name())
		}
		vfs, _ := h.Glob(d + "/virtfn*")
		sort.Slice(vfs, func(i, j int) bool { return vfIndex(vfs[i]) < vfIndex(vfs[j]) })
		for _, l := range vfs {
			t, err := h.ReadLink(l)
			if err != nil {
				continue
			}
			vf := "/sys/bus/pci/devices/" + path.Base(t)
			pf.VFs = append(pf.VFs, VF{PCI: path.Base(t), Driver: driverOf(h, vf)})
		}
		slot := pf.PCI
		if i := strings.LastIndexByte(slot, '.'); i > 0 {
			slot = slot[:i]
		}
		c := bySlot[slot]
		if c == nil {
			c = &Card{Slot: slot}
			bySlot[slot] = c
		}
		c.PFs = append(c.PFs, pf)
	}
	var out []Card
	for _, c := range bySlot {
		sort.Slice(c.PFs, func(i, j int) bool { return c.PFs[i].PCI < c.PFs[j].PCI })
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Slot < out[j].Slot })
	return out, nil
}

func vfIndex(p string) int {
	n := 0
	fmt.Sscanf(strings.TrimPrefix(path.Base(p), "virtfn"), "%d", &n)
	return n
}

func driverOf(h *host.Host, dev string) string {
	t, err := h.ReadLink(dev + "/driver")
	if err != nil {
		return ""
	}
	return path.Base(t)
}

func readIntOr(h *host.Host, p string, def int) int {
	n, err := h.ReadInt(p)
	if err != nil {
		return def
	}
	return int(n)
}

// describe renders a PF for messages: "0000:03:00.0 (enp3s0f0, ConnectX-4 Lx, mlx5_core)".
func (p PF) describe() string {
	parts := append([]string(nil), p.Netdevs...)
	if m := p.Model(); m != "" {
		parts = append(parts, m)
	} else if p.Device != "" {
		parts = append(parts, "15b3:"+strings.TrimPrefix(p.Device, "0x"))
	}
	if p.Driver != "" {
		parts = append(parts, p.Driver)
	} else {
		parts = append(parts, "no driver")
	}
	return p.PCI + " (" + strings.Join(parts, ", ") + ")"
}

// matches reports whether --pf names this PF (interface name or PCI address).
func (p PF) matches(want string) bool {
	if pciTokRe.MatchString(want) {
		return normPCI(want) == p.PCI
	}
	for _, n := range p.Netdevs {
		if n == want {
			return true
		}
	}
	return false
}
