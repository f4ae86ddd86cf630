package sriov

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"

	"github.com/vishvananda/netlink"

	"github.com/photonctl/photonctl/pkg/spec"
)

// VFWant is the per-VF settings asked for; zero fields are left alone.
type VFWant struct {
	MAC   bool  // stable MACs derived from the PF's (StableMAC)
	Trust *bool // ip link set ... vf I trust on|off
	Spoof *bool // ... spoofchk on|off
	VLAN  int   // ... vlan V; 0 leaves it alone
}

// Any reports whether any setting is asked for.
func (w VFWant) Any() bool { return w.MAC || w.Trust != nil || w.Spoof != nil || w.VLAN > 0 }

// WantFromSpec reads the VF settings of a spec.
func WantFromSpec(s spec.Spec) VFWant {
	w := VFWant{MAC: s.VFMAC, VLAN: s.VFVLAN}
	if s.VFTrust {
		t := true
		w.Trust = &t
	}
	switch s.VFSpoofCheck {
	case "on", "off":
		v := s.VFSpoofCheck == "on"
		w.Spoof = &v
	}
	return w
}

// StableMAC derives VF i's MAC from the PF's, so that it is the same every
// time the VFs are recreated: the PF's address with the locally administered
// bit set, the multicast bit cleared, and i+1 mixed into the two OUI bytes
// (which mean nothing once the address is locally administered). VFs of one
// PF differ from each other and from the PF; PFs that differ in their last
// three bytes (ports of one card, cards of one vendor) give disjoint sets.
func StableMAC(pf net.HardwareAddr, i int) (net.HardwareAddr, error) {
	if len(pf) != 6 {
		return nil, fmt.Errorf("PF MAC %q is not a 6-byte Ethernet address", pf)
	}
	if i < 0 || i > 0xfffe {
		return nil, fmt.Errorf("VF index %d out of range", i)
	}
	m := append(net.HardwareAddr(nil), pf...)
	m[0] = (m[0] &^ 0x01) | 0x02
	m[1] ^= byte((i + 1) >> 8)
	m[2] ^= byte(i + 1)
	return m, nil
}

// vfSetting is one VF attribute to set.
type vfSetting struct {
	VF     int
	What   string // mac, trust, spoofchk, vlan
	Before string
	After  string
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// planVFSettings compares what is asked with what netlink reports (cur may be
// nil: the VFs do not exist yet, or the PF link is not visible) and lists the
// settings to make.
func planVFSettings(pfMAC net.HardwareAddr, n int, w VFWant, cur []netlink.VfInfo) ([]vfSetting, error) {
	return planVFSettingsLabel(pfMAC, n, w, cur, "(new VF)")
}

// planVFSettingsLabel is planVFSettings with the Before shown for a VF that
// netlink does not report.
func planVFSettingsLabel(pfMAC net.HardwareAddr, n int, w VFWant, cur []netlink.VfInfo, missing string) ([]vfSetting, error) {
	byID := map[int]netlink.VfInfo{}
	for _, v := range cur {
		byID[v.ID] = v
	}
	var out []vfSetting
	for i := 0; i < n; i++ {
		c, have := byID[i]
		before := func(s string) string {
			if !have {
				return missing
			}
			return s
		}
		if w.MAC {
			m, err := StableMAC(pfMAC, i)
			if err != nil {
				return nil, err
			}
			if !have || c.Mac.String() != m.String() {
				out = append(out, vfSetting{i, "mac", before(c.Mac.String()), m.String()})
			}
		}
		if w.Trust != nil && (!have || (c.Trust != 0) != *w.Trust) {
			out = append(out, vfSetting{i, "trust", before(onOff(c.Trust != 0)), onOff(*w.Trust)})
		}
		if w.Spoof != nil && (!have || c.Spoofchk != *w.Spoof) {
			out = append(out, vfSetting{i, "spoofchk", before(onOff(c.Spoofchk)), onOff(*w.Spoof)})
		}
		if w.VLAN > 0 && (!have || c.Vlan != w.VLAN) {
			out = append(out, vfSetting{i, "vlan", before(strconv.Itoa(c.Vlan)), strconv.Itoa(w.VLAN)})
		}
	}
	return out, nil
}

// ipArgs renders the settings for VF i as `ip` arguments (for the unit and
// for messages): link set dev IFACE vf I mac M trust on spoofchk off vlan V.
func ipArgs(iface string, pfMAC net.HardwareAddr, i int, w VFWant) ([]string, error) {
	a := []string{"link", "set", "dev", iface, "vf", strconv.Itoa(i)}
	if w.MAC {
		m, err := StableMAC(pfMAC, i)
		if err != nil {
			return nil, err
		}
		a = append(a, "mac", m.String())
	}
	if w.Trust != nil {
		a = append(a, "trust", onOff(*w.Trust))
	}
	if w.Spoof != nil {
		a = append(a, "spoofchk", onOff(*w.Spoof))
	}
	if w.VLAN > 0 {
		a = append(a, "vlan", strconv.Itoa(w.VLAN))
	}
	return a, nil
}

// ErrVFSettings marks a VF setting the kernel refused.
var ErrVFSettings = errors.New("the PF's driver refused a VF setting")

// ApplyVFSettings sets the per-VF attributes on the PF link iface through the
// netlink handle nl. Equivalent to: ip link set dev IFACE vf I mac M trust on
// spoofchk off vlan V.
func ApplyVFSettings(nl *netlink.Handle, iface string, pfMAC net.HardwareAddr, todo []vfSetting) error {
	if len(todo) == 0 {
		return nil
	}
	if nl == nil {
		return fmt.Errorf("setting VF attributes on %s: no netlink handle (not root?)", iface)
	}
	link, err := nl.LinkByName(iface)
	if err != nil {
		return fmt.Errorf("setting VF attributes: PF link %s: %w", iface, err)
	}
	for _, s := range todo {
		var err error
		switch s.What {
		case "mac":
			var m net.HardwareAddr
			if m, err = net.ParseMAC(s.After); err == nil {
				err = nl.LinkSetVfHardwareAddr(link, s.VF, m)
			}
		case "trust":
			err = nl.LinkSetVfTrust(link, s.VF, s.After == "on")
		case "spoofchk":
			err = nl.LinkSetVfSpoofchk(link, s.VF, s.After == "on")
		case "vlan":
			var v int
			if v, err = strconv.Atoi(s.After); err == nil {
				err = nl.LinkSetVfVlan(link, s.VF, v)
			}
		default:
			err = fmt.Errorf("unknown VF setting %q", s.What)
		}
		if err != nil {
			return vfSettingError(iface, s, err)
		}
	}
	return nil
}

func vfSettingError(iface string, s vfSetting, err error) error {
	cmd := fmt.Sprintf("ip link set dev %s vf %d %s %s", iface, s.VF, s.What, s.After)
	var hint string
	switch {
	case errors.Is(err, syscall.EOPNOTSUPP), errors.Is(err, syscall.ENOTSUP):
		hint = iface + "'s driver has no VF settings: it is not an SR-IOV PF"
	case errors.Is(err, syscall.EINVAL), errors.Is(err, syscall.ERANGE):
		hint = fmt.Sprintf("VF %d does not exist on %s, or the driver does not accept %s", s.VF, iface, s.After)
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EACCES):
		hint = "run as root"
	case errors.Is(err, syscall.EBUSY):
		hint = "the VF is in use (bound to vfio-pci or a VM); set it before binding"
	default:
		hint = "see dmesg for the driver's reason"
	}
	return fmt.Errorf("%w: %s: %w; %s", ErrVFSettings, cmd, err, hint)
}
