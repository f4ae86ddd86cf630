package sriov

import (
	"fmt"
	"strconv"
	"strings"
)

// UnitDir is where photonctl installs its systemd units.
const UnitDir = "/etc/systemd/system"

// UnitWantsDir holds the links `systemctl enable` makes for WantedBy=multi-user.target.
const UnitWantsDir = UnitDir + "/multi-user.target.wants"

// UnitName is the persistence unit of the PF at a PCI address. The name
// follows the PCI address, not the interface name, so that a rename does not
// orphan it.
func UnitName(pfAddr string) string { return "photonctl-sriov-" + pfAddr + ".service" }

// UnitPath is the persistence unit's file.
func UnitPath(pfAddr string) string { return UnitDir + "/" + UnitName(pfAddr) }

// Unit is what the persistence unit recreates at boot.
type Unit struct {
	PF    string // PCI address
	Iface string // PF netdev, for the per-VF settings
	VFs   int
	// Settings are `ip link set dev IFACE vf I ...` arguments per VF, in
	// order; empty when none were asked for.
	Settings [][]string
	// VFIO lists the VFs to bind to vfio-pci after creating them.
	VFIO []string
	// MAC is the PF's permanent MAC; "" when unknown. With it the unit
	// finds the PF at boot by that MAC wherever the card sits (a slot
	// move changes its PCI address, not its MAC), and the VFs by their
	// virtfnN links; without it the unit uses the PCI addresses.
	MAC string
	// VFIOIndex are the indexes of the VFs in VFIO, for the MAC form.
	VFIOIndex []int
	// Wait bounds, in seconds, the MAC form's wait for the PF's netdev at
	// boot; DriverWait when 0.
	Wait int
}

// unitHeader starts every unit: what doctor reads back.
const unitHeader = "# photonctl-sriov:"

// UnitInfo is what a unit's first line records.
type UnitInfo struct {
	PF  string // the PCI address it was installed for
	MAC string // "" for a unit bound to the PCI address
	VFs int    // -1 when unknown
}

// ReadUnitInfo reads a unit's header line (the MAC form); a unit of the PCI
// address form is read from its name and sriov_numvfs lines.
func ReadUnitInfo(b []byte) UnitInfo {
	in := UnitInfo{VFs: -1}
	first, _, _ := strings.Cut(string(b), "\n")
	if rest, ok := strings.CutPrefix(first, unitHeader); ok {
		for _, f := range strings.Fields(rest) {
			k, v, _ := strings.Cut(f, "=")
			switch k {
			case "pf":
				in.PF = v
			case "mac":
				in.MAC = v
			case "vfs":
				if n, err := strconv.Atoi(v); err == nil {
					in.VFs = n
				}
			}
		}
		return in
	}
	in.VFs = unitVFs(b)
	return in
}

// DriverWait bounds how long the unit waits at boot for the PF's driver.
const DriverWait = 60

// WaitForDriver is the unit's command that waits, up to seconds, until a
// driver is bound to the PCI device at dev (its driver link exists). It has
// no shell variables, so systemd's own $ expansion leaves it alone.
func WaitForDriver(dev string, seconds int) string {
	return fmt.Sprintf("/usr/bin/timeout %d /bin/sh -c 'until [ -e %s/driver ]; do sleep 0.1; done'", seconds, dev)
}

// Render returns the unit file: a oneshot that, once the PF's driver is
// bound, writes 0 then N to the PF's sriov_numvfs before the network is
// configured (network-pre.target), then applies the VF settings and
// vfio-pci bindings setup made.
func (u Unit) Render() []byte {
	if u.MAC != "" {
		return u.renderByMAC()
	}
	dev := PCIDevices + "/" + u.PF
	var b strings.Builder
	fmt.Fprintf(&b, `# Installed by photonctl setup: recreates the SR-IOV VFs of %s at boot.
# Remove with: systemctl disable %s && rm %s
[Unit]
Description=photonctl: create %d SR-IOV VFs on %s
DefaultDependencies=no
After=systemd-modules-load.service systemd-udev-trigger.service
Wants=network-pre.target
Before=network-pre.target shutdown.target
Conflicts=shutdown.target
ConditionPathExists=%s/sriov_numvfs

[Service]
Type=oneshot
RemainAfterExit=yes
`, u.PF, UnitName(u.PF), UnitPath(u.PF), u.VFs, u.PF, dev)
	// udev loads and probes the PF's driver while this runs: a write to
	// sriov_numvfs before the driver is bound fails with EIO ("no driver
	// bound to device; cannot configure SR-IOV"), seen on a real boot.
	fmt.Fprintf(&b, "ExecStartPre=%s\n", WaitForDriver(dev, DriverWait))
	if len(u.VFIO) > 0 {
		b.WriteString("ExecStartPre=/sbin/modprobe vfio-pci\n")
	}
	fmt.Fprintf(&b, "ExecStart=/bin/sh -c 'echo 0 > %s/sriov_numvfs'\n", dev)
	fmt.Fprintf(&b, "ExecStart=/bin/sh -c 'echo %d > %s/sriov_numvfs'\n", u.VFs, dev)
	for _, s := range u.Settings {
		fmt.Fprintf(&b, "ExecStart=/sbin/ip %s\n", strings.Join(s, " "))
	}
	for _, vf := range u.VFIO {
		vdev := PCIDevices + "/" + vf
		fmt.Fprintf(&b, "ExecStart=/bin/sh -c 'echo vfio-pci > %s/driver_override'\n", vdev)
		fmt.Fprintf(&b, "ExecStart=/bin/sh -c '[ ! -e %[2]s/driver ] || echo %[1]s > %[2]s/driver/unbind'\n", vf, vdev)
		fmt.Fprintf(&b, "ExecStart=/bin/sh -c 'echo %s > /sys/bus/pci/drivers_probe'\n", vf)
	}
	b.WriteString("\n[Install]\nWantedBy=multi-user.target\n")
	return []byte(b.String())
}

// renderByMAC is the unit that follows the card: one shell script (in
// systemd's syntax: $$ is a $, lines joined at a trailing backslash) that
// finds the PF as the netdev whose MAC is the card's permanent one (before
// network-pre.target nothing has changed it) and that has sriov_numvfs,
// writes 0 then N there, applies the VF settings to its netdev, and binds
// the VFs asked for to vfio-pci through its virtfnN links.
func (u Unit) renderByMAC() []byte {
	wait := u.Wait
	if wait <= 0 {
		wait = DriverWait
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s pf=%s mac=%s vfs=%d\n", unitHeader, u.PF, u.MAC, u.VFs)
	fmt.Fprintf(&b, `# Installed by photonctl setup: recreates at boot the SR-IOV VFs of the NIC
# whose permanent MAC is %s, in whatever PCI slot it is (%s when installed).
# Remove with: systemctl disable %s && rm %s
[Unit]
Description=photonctl: create %d SR-IOV VFs on the NIC %s
DefaultDependencies=no
After=systemd-modules-load.service systemd-udev-trigger.service
Wants=network-pre.target
Before=network-pre.target shutdown.target
Conflicts=shutdown.target

[Service]
Type=oneshot
RemainAfterExit=yes
`, u.MAC, u.PF, UnitName(u.PF), UnitPath(u.PF), u.VFs, u.MAC)
	if len(u.VFIOIndex) > 0 {
		b.WriteString("ExecStartPre=/sbin/modprobe vfio-pci\n")
	}
	lines := []string{
		// udev binds the PF's driver while this runs: wait (up to wait
		// seconds) for its netdev, which the driver makes.
		"pf=; i=0",
		fmt.Sprintf("while [ -z \"$$pf\" ] && [ $$i -le %d ]; do for n in /sys/class/net/*; do if [ -e $$n/device/sriov_numvfs ] && [ \"$$(cat $$n/address)\" = %s ]; then pf=$$(readlink -f $$n/device); fi; done; if [ -z \"$$pf\" ]; then sleep 0.1; fi; i=$$((i+1)); done", wait*10, u.MAC),
		fmt.Sprintf("if [ -z \"$$pf\" ]; then echo \"photonctl: no NIC with MAC %s after %d s\" >&2; exit 1; fi", u.MAC, wait),
		"echo 0 > $$pf/sriov_numvfs || exit 1",
	}
	if len(u.VFIOIndex) > 0 {
		// New VFs are not probed while autoprobe is off: udev loads the
		// VF driver (igbvf) while this runs, and a probe racing the
		// binding below left two VFs of four on igbvf on a real boot.
		lines = append(lines, "[ ! -e $$pf/sriov_drivers_autoprobe ] || echo 0 > $$pf/sriov_drivers_autoprobe")
	}
	lines = append(lines, fmt.Sprintf("echo %d > $$pf/sriov_numvfs || exit 1", u.VFs))
	if len(u.Settings) > 0 {
		lines = append(lines, "for n in $$pf/net/*; do dev=$${n##*/}; done")
		for _, st := range u.Settings {
			a := append([]string(nil), st...)
			for i := range a {
				if i > 0 && a[i-1] == "dev" {
					a[i] = "$$dev"
				}
			}
			lines = append(lines, "/sbin/ip "+strings.Join(a, " ")+" || exit 1")
		}
	}
	for _, i := range u.VFIOIndex {
		lines = append(lines,
			fmt.Sprintf("v=$$(readlink -f $$pf/virtfn%d); v=$${v##*/}", i),
			"echo vfio-pci > /sys/bus/pci/devices/$$v/driver_override || exit 1",
			"if [ -e /sys/bus/pci/devices/$$v/driver ]; then echo $$v > /sys/bus/pci/devices/$$v/driver/unbind; fi",
			"echo $$v > /sys/bus/pci/drivers_probe || exit 1")
	}
	if len(u.VFIOIndex) > 0 {
		// The other VFs go to their own driver, and autoprobe back on.
		lines = append(lines,
			"for f in $$pf/virtfn*; do v=$$(readlink -f $$f); v=$${v##*/}; [ -e /sys/bus/pci/devices/$$v/driver ] || echo $$v > /sys/bus/pci/drivers_probe || true; done",
			"[ ! -e $$pf/sriov_drivers_autoprobe ] || echo 1 > $$pf/sriov_drivers_autoprobe")
	}
	b.WriteString("ExecStart=/bin/sh -c '\\\n")
	for i, l := range lines {
		sep := "; \\\n"
		if i == len(lines)-1 {
			sep = "'\n"
		}
		b.WriteString("  " + l + sep)
	}
	b.WriteString("\n[Install]\nWantedBy=multi-user.target\n")
	return []byte(b.String())
}
