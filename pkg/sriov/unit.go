package sriov

import (
	"fmt"
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
