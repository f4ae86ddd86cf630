package udev

import (
	"fmt"
	"path"
	"path/filepath"
	"strconv"
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
	in.Scheme, in.SchemeFrom = NamingScheme(h)
	in.Distro = osID(h)
	// net_id looks for a slot whose address starts the device's own PCI
	// address, then its parent bridge's, and so on up: the first level
	// with a slot decides.
	levels := []string{nic.PCI}
	parts := strings.Split(path.Dir(devPath), "/")
	for i := len(parts) - 1; i >= 0; i-- {
		if _, _, _, _, err := splitPCI(parts[i]); err == nil {
			levels = append(levels, parts[i])
		}
	}
	slots := readSlots(h)
	for i, lvl := range levels {
		var names []string
		for _, sl := range slots {
			if strings.HasPrefix(lvl, sl.addr) {
				names = append(names, sl.name)
			}
		}
		if len(names) == 0 {
			continue
		}
		if i == 0 {
			in.Slot = names[0]
		} else {
			in.BridgeSlot = names[0]
		}
		in.SlotCount = len(names)
		break
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

type pciSlot struct{ name, addr string }

// readSlots reads /sys/bus/pci/slots as net_id does: only folders whose name
// is a whole decimal number of at least 1 (QEMU's q35 has a slot 0 behind
// every root port, pciehp names a second slot of one number "0-1"), with an
// address that reads.
func readSlots(h *host.Host) []pciSlot {
	ents, err := h.ReadDir("/sys/bus/pci/slots")
	if err != nil {
		return nil
	}
	var out []pciSlot
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		n, err := strconv.ParseUint(e.Name(), 10, 32)
		if err != nil || n < 1 {
			continue
		}
		a, err := h.ReadString("/sys/bus/pci/slots/" + e.Name() + "/address")
		if err != nil || a == "" {
			continue
		}
		out = append(out, pciSlot{strconv.FormatUint(n, 10), a})
	}
	return out
}

// NamingScheme is the systemd version whose net_id naming scheme udev on h
// applies, and where that comes from: net.naming-scheme=vNNN on the kernel
// command line, else the version of the host's systemd (the number in its
// libsystemd-shared-NNN.so). 0 when neither tells ("latest" counts as the
// host's systemd; a distribution's own scheme, rhel-9.4, is unknown).
func NamingScheme(h *host.Host) (int, string) {
	sd := systemdVersion(h)
	if c, err := h.ReadString("/proc/cmdline"); err == nil {
		for _, f := range strings.Fields(c) {
			v, ok := strings.CutPrefix(f, "net.naming-scheme=")
			if !ok {
				continue
			}
			if v == "latest" && sd > 0 {
				return sd, fmt.Sprintf("net.naming-scheme=latest (systemd %d)", sd)
			}
			n, err := strconv.Atoi(strings.TrimPrefix(v, "v"))
			if err != nil || !strings.HasPrefix(v, "v") {
				return 0, ""
			}
			return n, "net.naming-scheme=" + v
		}
	}
	if sd > 0 {
		return sd, fmt.Sprintf("systemd %d", sd)
	}
	return 0, ""
}

// systemdVersion reads the host's systemd version from the name of its
// shared library (libsystemd-shared-252.so, ...-255.4-1.so); 0 if none.
func systemdVersion(h *host.Host) int {
	for _, dir := range []string{"/usr/lib/systemd", "/lib/systemd", "/usr/lib64/systemd", "/usr/lib/*/systemd", "/lib/*/systemd"} {
		libs, _ := h.Glob(dir + "/libsystemd-shared-*.so")
		for _, l := range libs {
			v := strings.TrimSuffix(strings.TrimPrefix(path.Base(l), "libsystemd-shared-"), ".so")
			if i := strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
				v = v[:i]
			}
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				return n
			}
		}
	}
	return 0
}

// osID is the ID= of os-release.
func osID(h *host.Host) string {
	b, err := h.ReadFile("/etc/os-release")
	if err != nil {
		b, _ = h.ReadFile("/usr/lib/os-release")
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "ID="); ok {
			return strings.Trim(v, `"'`)
		}
	}
	return ""
}
