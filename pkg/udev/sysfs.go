package udev

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/photonctl/photonctl/pkg/host"
)

// ReadNameInput reads what net_id reads for nic from sysfs under h; pins are
// the udev rules on the host that name interfaces by MAC, by rules file.
func ReadNameInput(h *host.Host, nic NIC, pins []PinFile) NameInput {
	dir := "/sys/class/net/" + nic.Name
	in := NameInput{Current: nic.Name, PCI: nic.PCI, Type: nic.Type, DevPort: nic.DevPort, DevID: nic.DevID, NameAssignType: nic.NameAssignType}
	mac := strings.ToLower(nic.MAC.String())
	final := false
	for _, pf := range pins {
		for _, p := range pf.Pins {
			if final || p.MAC != mac || (p.DevID != "" && p.DevID != nic.DevID) {
				continue
			}
			in.Pinned, in.PinnedBy = p.Name, pf.Path
			if p.Line > 0 {
				in.PinnedBy = fmt.Sprintf("%s line %d", pf.Path, p.Line)
			}
			final = p.Final
		}
	}
	in.DevType = devType(h, dir)
	if s, err := h.ReadString(dir + "/phys_port_name"); err == nil {
		in.PhysPortName = s
	}
	_, devPath := pciDevice(h, dir)
	if devPath == "" {
		return in
	}
	if v, err := h.ReadInt(devPath + "/acpi_index"); err == nil {
		in.AcpiIndex = int(v)
	}
	if v, err := h.ReadInt(devPath + "/index"); err == nil {
		in.Index = int(v)
	}
	in.MultiFunction = multiFunction(h, devPath, nic.PCI)
	own := slotAddress(nic.PCI)
	var ancestors []string
	for _, c := range strings.Split(path.Dir(devPath), "/") {
		if _, _, _, _, err := splitPCI(c); err == nil {
			ancestors = append(ancestors, slotAddress(c))
		}
	}
	slots, _ := h.Glob("/sys/bus/pci/slots/*/address")
	for _, s := range slots {
		a, err := h.ReadString(s)
		if err != nil {
			continue
		}
		name := path.Base(path.Dir(s))
		if a == own {
			in.Slot = name
			in.SlotCount++
			continue
		}
		for _, anc := range ancestors {
			if a == anc {
				in.BridgeSlot = name
			}
		}
	}
	return in
}

// resolve follows the symlink dir/name (and any symlink on the way: on a
// real host /sys/class/net/IFACE is itself one) and returns the host path it
// points at, or "".
func resolve(h *host.Host, dir, name string) string {
	full, err := filepath.EvalSymlinks(h.Path(dir + "/" + name))
	if err != nil {
		return ""
	}
	return h.Rel(full)
}

// pciDevice finds the PCI device of the interface at dir: its device
// itself, or for virtio_net the PCI device the virtio device sits on (udev's
// net_id skips the virtio bus the same way). It returns the PCI address and
// the device's host path, or "" for a NIC on another bus (USB, platform).
func pciDevice(h *host.Host, dir string) (addr, devPath string) {
	p := resolve(h, dir, "device")
	if p == "" {
		return "", ""
	}
	if _, _, _, _, err := splitPCI(path.Base(p)); err == nil {
		return path.Base(p), p
	}
	if strings.HasPrefix(path.Base(p), "virtio") {
		parent := path.Dir(p)
		if _, _, _, _, err := splitPCI(path.Base(parent)); err == nil {
			return path.Base(parent), parent
		}
	}
	return "", ""
}

// multiFunction reads bit 7 of the PCI header type (config space byte 0x0e)
// and, where config space is not readable, looks for sibling functions.
func multiFunction(h *host.Host, devPath, pci string) bool {
	if b, err := h.ReadFile(devPath + "/config"); err == nil && len(b) > 0x0e {
		return b[0x0e]&0x80 != 0
	}
	if devPath == "" || len(pci) < 2 {
		return false
	}
	sib, _ := h.Glob(path.Dir(devPath) + "/" + pci[:len(pci)-1] + "*")
	return len(sib) > 1
}

// slotAddress is the "DDDD:BB:SS" a /sys/bus/pci/slots/*/address holds.
func slotAddress(pci string) string {
	if i := strings.LastIndexByte(pci, '.'); i > 0 {
		return pci[:i]
	}
	return pci
}
