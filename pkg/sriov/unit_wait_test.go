package sriov

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// At boot the unit can start before udev has bound the PF's driver; a write
// to sriov_numvfs then fails with EIO (seen on the QEMU igb guest). The unit
// must wait for the driver before its first write.
func TestUnitWaitsForThePFDriverFirst(t *testing.T) {
	u := Unit{PF: "0000:02:00.0", Iface: "enp2s0", VFs: 4, VFIO: []string{"0000:02:10.0"}}
	lines := strings.Split(string(u.Render()), "\n")
	wait, write := -1, -1
	for i, l := range lines {
		if strings.Contains(l, "until [ -e /sys/bus/pci/devices/0000:02:00.0/driver ]") && strings.HasPrefix(l, "ExecStartPre=") && wait < 0 {
			wait = i
		}
		if strings.Contains(l, "sriov_numvfs'") && write < 0 {
			write = i
		}
	}
	if wait < 0 || write < 0 || wait > write {
		t.Fatalf("the unit must wait for the PF's driver (line %d) before it writes sriov_numvfs (line %d):\n%s", wait, write, u.Render())
	}
	if strings.Contains(lines[wait], "$") {
		t.Errorf("the wait command has a $, which systemd would expand: %s", lines[wait])
	}
}

// The wait command, run by the real /bin/sh: it returns once the driver
// link appears, and fails when none appears in time.
func TestWaitForDriverRealShell(t *testing.T) {
	if _, err := os.Stat("/usr/bin/timeout"); err != nil {
		t.Skip("needs /usr/bin/timeout (coreutils)")
	}
	dev, drv := t.TempDir(), t.TempDir() // drv: the driver's folder the link points at
	go func() {
		time.Sleep(300 * time.Millisecond)
		_ = os.Symlink(drv, filepath.Join(dev, "driver"))
	}()
	if out, err := exec.Command("/bin/sh", "-c", WaitForDriver(dev, 20)).CombinedOutput(); err != nil {
		t.Fatalf("waiting for a driver that comes: %v %s", err, out)
	}
	if err := exec.Command("/bin/sh", "-c", WaitForDriver(t.TempDir(), 1)).Run(); err == nil {
		t.Fatal("waiting for a driver that never comes succeeded")
	}
}

// At boot udev loads the VF driver (igbvf) while the unit binds the VFs to
// vfio-pci; a probe racing the binding left two VFs of four on igbvf on the
// QEMU guest. The unit turns the PF's sriov_drivers_autoprobe off before it
// creates the VFs and back on after it has bound them.
func TestUnitByMACStopsAutoprobeWhileBinding(t *testing.T) {
	u := Unit{PF: "0000:02:00.0", Iface: "enp2s0", MAC: "52:54:00:e2:e0:02", VFs: 4, VFIOIndex: []int{0, 1, 2, 3}}
	r := string(u.Render())
	off := strings.Index(r, "echo 0 > $$pf/sriov_drivers_autoprobe")
	create := strings.Index(r, "echo 4 > $$pf/sriov_numvfs")
	bind := strings.LastIndex(r, "driver_override")
	on := strings.Index(r, "echo 1 > $$pf/sriov_drivers_autoprobe")
	if off < 0 || create < 0 || on < 0 || !(off < create && create < bind && bind < on) {
		t.Fatalf("want autoprobe off (at %d) before the VFs are created (%d), on again (%d) after the last binding (%d):\n%s", off, create, on, bind, r)
	}
	// Without VFs for vfio-pci the VFs go to their driver as usual.
	plain := string(Unit{PF: u.PF, Iface: u.Iface, MAC: u.MAC, VFs: 4}.Render())
	if strings.Contains(plain, "sriov_drivers_autoprobe") {
		t.Errorf("a unit without vfio-pci VFs touches autoprobe:\n%s", plain)
	}
}
