package sriov

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/photonctl/photonctl/pkg/host"
)

// MellanoxVendor is the PCI vendor ID of Mellanox (NVIDIA) NICs.
const MellanoxVendor = "15b3"

// PCIDevices is where sysfs lists PCI functions.
const PCIDevices = "/sys/bus/pci/devices"

// PF is a physical network function, SR-IOV capable or not.
type PF struct {
	Addr     string   `json:"pci"`              // 0000:03:00.0
	VendorID string   `json:"vendor_id"`        // 15b3
	DeviceID string   `json:"device_id"`        // 1015
	Vendor   string   `json:"vendor,omitempty"` // from pci.ids, "" when unknown
	Device   string   `json:"device,omitempty"`
	Driver   string   `json:"driver,omitempty"` // "" when unbound
	NUMANode int      `json:"numa_node"`        // -1: none
	Netdevs  []Netdev `json:"netdevs"`
	// TotalVFs is sriov_totalvfs; -1 when the attribute is missing (no
	// SR-IOV capability: off in the BIOS or the NIC firmware).
	TotalVFs int `json:"total_vfs"`
	NumVFs   int `json:"num_vfs"`
	// Offset and Stride place the VFs on the bus (sriov_offset, sriov_stride).
	Offset int `json:"offset"`
	Stride int `json:"stride"`
	// Autoprobe is sriov_drivers_autoprobe: new VFs get a driver (and a netdev).
	Autoprobe bool `json:"autoprobe"`
	VFs       []VF `json:"vfs"`
}

// Netdev is a network interface of a PCI function.
type Netdev struct {
	Name      string `json:"name"`
	OperState string `json:"operstate"` // up, down, unknown
	MAC       string `json:"mac,omitempty"`
}

// VF is a virtual function (a virtfnN link of its PF).
type VF struct {
	Index   int      `json:"index"`
	Addr    string   `json:"pci"`
	Driver  string   `json:"driver,omitempty"`
	Netdevs []string `json:"netdevs"`
}

// SRIOV reports whether the PF can have VFs now.
func (p PF) SRIOV() bool { return p.TotalVFs > 0 }

// Mellanox reports whether the PF is a Mellanox (NVIDIA) NIC.
func (p PF) Mellanox() bool { return p.VendorID == MellanoxVendor }

// Iface is the PF's first netdev name, "" when it has none.
func (p PF) Iface() string {
	if len(p.Netdevs) == 0 {
		return ""
	}
	return p.Netdevs[0].Name
}

// Dir is the PF's sysfs folder.
func (p PF) Dir() string { return PCIDevices + "/" + p.Addr }

// String names the PF for messages: enp3s0f0 (0000:03:00.0, 15b3:1015 ConnectX-4 Lx, mlx5_core).
func (p PF) String() string {
	var b strings.Builder
	if i := p.Iface(); i != "" {
		b.WriteString(i + " (" + p.Addr)
	} else {
		b.WriteString(p.Addr + " (no netdev")
	}
	fmt.Fprintf(&b, ", %s:%s", p.VendorID, p.DeviceID)
	if p.Device != "" {
		b.WriteString(" " + p.Device)
	}
	if p.Driver != "" {
		b.WriteString(", " + p.Driver)
	}
	b.WriteString(")")
	return b.String()
}

// Discover lists the host's physical network functions (PCI class 02, or any
// function with sriov_totalvfs or a netdev) that are not themselves VFs, sorted by PCI
// address, with their VFs. Facts come from sysfs; vendor and device names
// from the host's own pci.ids through ghw (see names.go). A host without
// /sys/bus/pci has none.
func Discover(h *host.Host) ([]PF, error) {
	ents, err := h.ReadDir(PCIDevices)
	if host.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing PCI devices in %s: %w", PCIDevices, err)
	}
	var pfs []PF
	for _, e := range ents {
		addr := e.Name()
		if _, err := ParseAddr(addr); err != nil {
			continue
		}
		dir := PCIDevices + "/" + addr
		if h.Exists(dir + "/physfn") {
			continue // a VF
		}
		class, _ := h.ReadString(dir + "/class")
		_, totalErr := h.ReadString(dir + "/sriov_totalvfs")
		if !strings.HasPrefix(class, "0x02") && totalErr != nil && !h.Exists(dir+"/net") {
			continue
		}
		pf, err := readPF(h, addr)
		if err != nil {
			return nil, err
		}
		pfs = append(pfs, pf)
	}
	sort.Slice(pfs, func(i, j int) bool { return pfs[i].Addr < pfs[j].Addr })
	addNames(h, pfs)
	return pfs, nil
}

// DiscoverPF reads one PF again (after its VFs changed).
func DiscoverPF(h *host.Host, addr string) (PF, error) {
	pf, err := readPF(h, addr)
	if err != nil {
		return pf, err
	}
	one := []PF{pf}
	addNames(h, one)
	return one[0], nil
}

func readPF(h *host.Host, addr string) (PF, error) {
	dir := PCIDevices + "/" + addr
	pf := PF{Addr: addr, NUMANode: -1, TotalVFs: -1}
	pf.VendorID = hexID(h, dir+"/vendor")
	pf.DeviceID = hexID(h, dir+"/device")
	pf.Driver = linkBase(h, dir+"/driver")
	if n, err := h.ReadInt(dir + "/numa_node"); err == nil {
		pf.NUMANode = int(n)
	}
	pf.Netdevs = readNetdevs(h, dir)
	if n, err := h.ReadInt(dir + "/sriov_totalvfs"); err == nil {
		pf.TotalVFs = int(n)
	} else if !host.IsNotExist(err) {
		if host.IsPermission(err) {
			return pf, fmt.Errorf("reading %s/sriov_totalvfs: %w (run as root)", dir, err)
		}
		return pf, fmt.Errorf("reading %s/sriov_totalvfs: %w", dir, err)
	}
	if pf.TotalVFs >= 0 {
		n, err := h.ReadInt(dir + "/sriov_numvfs")
		if err != nil {
			return pf, fmt.Errorf("reading %s/sriov_numvfs: %w", dir, err)
		}
		pf.NumVFs = int(n)
		// The VFs' addresses follow from these: a value that does not read
		// stops the plan rather than misplace the VFs.
		off, err := h.ReadInt(dir + "/sriov_offset")
		if err != nil && !host.IsNotExist(err) {
			return pf, fmt.Errorf("reading %s/sriov_offset: %w", dir, err)
		}
		st, err := h.ReadInt(dir + "/sriov_stride")
		if err != nil && !host.IsNotExist(err) {
			return pf, fmt.Errorf("reading %s/sriov_stride: %w", dir, err)
		}
		pf.Offset, pf.Stride = int(off), int(st)
		ap, err := h.ReadInt(dir + "/sriov_drivers_autoprobe")
		pf.Autoprobe = err != nil || ap != 0 // the kernel's default is on
	}
	vfs, err := readVFs(h, dir)
	if err != nil {
		return pf, err
	}
	pf.VFs = vfs
	return pf, nil
}

// readVFs follows the virtfnN links of a PF, in index order.
func readVFs(h *host.Host, dir string) ([]VF, error) {
	links, err := h.Glob(dir + "/virtfn*")
	if err != nil {
		return nil, err
	}
	vfs := []VF{}
	for _, l := range links {
		idx, err := strconv.Atoi(strings.TrimPrefix(path.Base(l), "virtfn"))
		if err != nil {
			continue
		}
		target, err := h.ReadLink(l)
		if err != nil {
			return nil, fmt.Errorf("reading VF link %s: %w", l, err)
		}
		vf := VF{Index: idx, Addr: path.Base(target), Driver: linkBase(h, l+"/driver"), Netdevs: []string{}}
		for _, n := range readNetdevs(h, l) {
			vf.Netdevs = append(vf.Netdevs, n.Name)
		}
		vfs = append(vfs, vf)
	}
	sort.Slice(vfs, func(i, j int) bool { return vfs[i].Index < vfs[j].Index })
	return vfs, nil
}

func readNetdevs(h *host.Host, dir string) []Netdev {
	ents, err := h.ReadDir(dir + "/net")
	out := []Netdev{}
	if err != nil {
		return out
	}
	for _, e := range ents {
		n := Netdev{Name: e.Name(), OperState: "unknown"}
		if s, err := h.ReadString(dir + "/net/" + e.Name() + "/operstate"); err == nil && s != "" {
			n.OperState = s
		}
		n.MAC, _ = h.ReadString(dir + "/net/" + e.Name() + "/address")
		out = append(out, n)
	}
	return out
}

// hexID reads a sysfs ID such as "0x15b3" as "15b3".
func hexID(h *host.Host, p string) string {
	s, err := h.ReadString(p)
	if err != nil {
		return ""
	}
	return strings.ToLower(strings.TrimPrefix(s, "0x"))
}

func linkBase(h *host.Host, p string) string {
	t, err := h.ReadLink(p)
	if err != nil {
		return ""
	}
	return path.Base(t)
}

// ErrNoSRIOV is returned when no PF (or not the chosen one) can have VFs.
var ErrNoSRIOV = errors.New("no SR-IOV capable NIC")
