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
