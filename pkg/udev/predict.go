package udev

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrUnpredictable marks an interface whose name after the reboot photonctl
// cannot tell for sure.
var ErrUnpredictable = errors.New("cannot predict the name after the reboot")

// NameInput is what systemd-udev's net_id builtin reads to name one
// interface, gathered from sysfs by ReadNameInput.
type NameInput struct {
	Current string // the name now
	PCI     string // "0000:03:00.0"
	Type    int    // ARP type: 1 Ethernet, 32 InfiniBand
	DevType string // uevent DEVTYPE: "wlan", "wwan" or ""
	// MultiFunction: the PCI device has more than one function (header type
	// bit 7, or sibling functions in sysfs).
	MultiFunction bool
	AcpiIndex     int    // firmware label index (acpi_index); 0 none
	Index         int    // SMBIOS type 41 index (index); 0 none
	Slot          string // name of the /sys/bus/pci/slots entry whose address is this device's; "" none
	// BridgeSlot names a slot that holds a bridge above the device (the
	// nearest one that has a slot): net_id versions differ on whether they
	// use it.
	BridgeSlot string
	SlotCount  int // how many slots claim the address that matched (the device's or the bridge's)
	// Slots count only as net_id reads them: a folder of
	// /sys/bus/pci/slots whose name is a decimal number of at least 1
	// (QEMU's q35 puts a slot 0 behind every root port, pciehp names
	// duplicates "0-1": net_id ignores both).

	// Scheme is the net_id naming scheme's systemd version (the host's
	// systemd, or net.naming-scheme=vNNN on the kernel command line); 0
	// when unknown. SchemeFrom says where it comes from, for messages;
	// Distro is the os-release ID (its builds may change the default).
	Scheme       int
	SchemeFrom   string
	Distro       string
	DevPort      int // -1 when the kernel has no dev_port
	DevID        string
	PhysPortName string
	// NameAssignType 2: the driver named it predictably and udev keeps it.
	NameAssignType int
	// Pinned is a name a udev rule gives this MAC, and PinnedBy that rule.
	Pinned, PinnedBy string
}

// Prediction is the name an interface will have after the reboot.
type Prediction struct {
	Name   string
	Source string // what the name comes from, for the plan
}

// Predict gives the name udev's default policy (NamePolicy=keep kernel
// database onboard slot path) picks: a name a rule pins, the driver's own
// predictable name, then eno<index>, ens<slot>[f<fn>], enp<bus>s<slot>[f<fn>]
// (with P<domain> first when the PCI domain is not 0, f<fn> only for
// multi-function devices, d<dev_port> when dev_port is not 0).
func Predict(in NameInput) (Prediction, error) {
	fail := func(format string, a ...any) (Prediction, error) {
		return Prediction{}, fmt.Errorf("%s: %w: %s", in.Current, ErrUnpredictable, fmt.Sprintf(format, a...))
	}
	if in.Pinned != "" {
		if err := ValidateName(in.Pinned); err != nil {
			return fail("%s gives it an invalid name: %v", in.PinnedBy, err)
		}
		return Prediction{in.Pinned, "pinned by " + in.PinnedBy}, nil
	}
	if in.NameAssignType == 2 {
		return Prediction{in.Current, "named by its driver (name_assign_type 2): udev keeps it"}, nil
	}
	var prefix string
	switch {
	case in.DevType == "wlan":
		prefix = "wl"
	case in.DevType == "wwan":
		prefix = "ww"
	case in.DevType != "":
		return fail("device type %q", in.DevType)
	case in.Type == 1:
		prefix = "en"
	case in.Type == 32:
		prefix = "ib"
	default:
		return fail("link type %d has no predictable-name prefix", in.Type)
	}
	if in.PCI == "" {
		return fail("no PCI device")
	}
	dom, bus, slot, fn, err := splitPCI(in.PCI)
	if err != nil {
		return fail("%v", err)
	}
	if in.PhysPortName != "" {
		return fail("the driver reports phys_port_name %q, which systemd versions use differently", in.PhysPortName)
	}
	var port string
	switch {
	case in.DevPort > 0:
		port = "d" + strconv.Itoa(in.DevPort)
	case in.DevPort < 0 && in.DevID != "" && in.DevID != "0x0":
		return fail("no dev_port and dev_id %s: older udev takes dev_id for the port", in.DevID)
	}
	var fsuf string
	if fn > 0 || in.MultiFunction {
		fsuf = "f" + strconv.Itoa(fn)
	}
	var dpre string
	if dom > 0 {
		dpre = "P" + strconv.Itoa(dom)
	}
	check := func(p Prediction) (Prediction, error) {
		if err := ValidateName(p.Name); err != nil {
			return fail("the predicted name is not valid: %v", err)
		}
		return p, nil
	}
	idx, src := in.AcpiIndex, "acpi_index"
	if idx <= 0 {
		idx, src = in.Index, "SMBIOS index"
	}
	if idx > 16383 {
		return fail("firmware index %d is above 16383, which newer udev ignores and older udev uses", idx)
	}
	if idx > 0 {
		return check(Prediction{prefix + "o" + strconv.Itoa(idx) + port, fmt.Sprintf("onboard, firmware %s %d", src, idx)})
	}
	if in.SlotCount > 1 && in.Slot != "" {
		return fail("%d PCI slots claim the address %s", in.SlotCount, in.PCI[:len(in.PCI)-2])
	}
	if in.Slot != "" {
		return check(Prediction{prefix + dpre + "s" + in.Slot + fsuf + port, "PCI hotplug slot " + in.Slot})
	}
	path := Prediction{prefix + dpre + "p" + strconv.Itoa(bus) + "s" + strconv.Itoa(slot) + fsuf + port, "PCI path " + in.PCI}
	if in.BridgeSlot != "" {
		use, why, ok := bridgeSlotRule(in)
		if !ok {
			return fail("it sits behind a bridge in PCI slot %s, and %s", in.BridgeSlot, why)
		}
		if use && in.SlotCount > 1 {
			return fail("%d PCI slots claim the address of the bridge above it", in.SlotCount)
		}
		if use {
			return check(Prediction{prefix + dpre + "s" + in.BridgeSlot + fsuf + port,
				fmt.Sprintf("PCI hotplug slot %s of the bridge above it (%s)", in.BridgeSlot, why)})
		}
		path.Source += fmt.Sprintf(" (the slot %s of the bridge above it is not used: %s)", in.BridgeSlot, why)
	}
	return check(path)
}

// bridgeSlotRule says whether net_id names a device after the hotplug slot
// of a bridge above it, as the naming scheme in force has it: v247 stopped
// (NAMING_BRIDGE_NO_SLOT), v251 took it again for multi-function devices
// (NAMING_BRIDGE_MULTIFUNCTION_SLOT), v255 stopped again. ok is false when
// the scheme is unknown, older than v247 (versions before it differ among
// themselves), or a distribution build that may have patched the v251 rule.
func bridgeSlotRule(in NameInput) (use bool, why string, ok bool) {
	v := in.Scheme
	switch {
	case v == 0:
		return false, "the net_id naming scheme is unknown (no libsystemd-shared-NNN.so found, no net.naming-scheme=vNNN): " +
			"schemes v247, v251 and v255 changed whether that slot names it", false
	case v < 247:
		return false, fmt.Sprintf("net_id of %s (before v247) may or may not use that slot, depending on its version", in.SchemeFrom), false
	case v >= 251 && v < 255 && in.MultiFunction:
		if in.Distro == "rhel" || in.Distro == "centos" || in.Distro == "rocky" || in.Distro == "almalinux" {
			return false, fmt.Sprintf("%s uses it for a multi-function device upstream, but %s builds turn that off", in.SchemeFrom, in.Distro), false
		}
		return true, in.SchemeFrom + " uses a bridge's slot for a multi-function device", true
	case v >= 251 && v < 255:
		return false, in.SchemeFrom + " uses a bridge's slot only for a multi-function device", true
	}
	return false, in.SchemeFrom + " never uses a bridge's slot", true
}

// splitPCI reads "DDDD:BB:SS.F" (hex, function decimal).
func splitPCI(addr string) (dom, bus, slot, fn int, err error) {
	bad := fmt.Errorf("PCI address %q is not DDDD:BB:SS.F", addr)
	parts := strings.Split(addr, ":")
	if len(parts) != 3 {
		return 0, 0, 0, 0, bad
	}
	sf := strings.Split(parts[2], ".")
	if len(sf) != 2 {
		return 0, 0, 0, 0, bad
	}
	vals := make([]int, 4)
	for i, s := range []string{parts[0], parts[1], sf[0], sf[1]} {
		v, e := strconv.ParseUint(s, 16, 32)
		if e != nil || s == "" {
			return 0, 0, 0, 0, bad
		}
		vals[i] = int(v)
	}
	if vals[2] > 31 || vals[3] > 7 {
		return 0, 0, 0, 0, bad
	}
	return vals[0], vals[1], vals[2], vals[3], nil
}
