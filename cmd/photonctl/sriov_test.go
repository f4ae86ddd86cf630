package main

import (
	"os"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/runner/runnertest"
	"github.com/photonctl/photonctl/pkg/sriov"
)

// The whole binary on the ConnectX-4 Lx with SR-IOV off: the mlnx step sets
// the firmware (exit 3, reboot) and the sriov step waits for that reboot
// instead of failing.
func TestSetupVFsWaitsForMlnxFirmware(t *testing.T) {
	h := fixture.Host(t, "mlnx-cx4lx-off")
	q := []string{"mstconfig", "-d", "0000:03:00.0", "-e", "q"}
	f := runnertest.New(t)
	f.Expect(runnertest.Call{Argv: q, Output: mlnxOutput(t, "mstconfig-q-off.txt")})
	f.Expect(runnertest.Call{Argv: q, Output: mlnxOutput(t, "mstconfig-q-off.txt")})
	f.Expect(runnertest.Call{Argv: []string{"mstconfig", "-d", "0000:03:00.0", "-y", "set", "SRIOV_EN=1", "NUM_OF_VFS=4"}, Output: "Applying... Done!\n"})
	f.Allow(runnertest.Call{Argv: q, Output: setNext(mlnxOutput(t, "mstconfig-q-off.txt"), map[string]string{"SRIOV_EN": "True(1)", "NUM_OF_VFS": "4"})})
	r := photonctlWith(t, f, "--root", h.Root(), "setup", "--only", "mlnx,sriov", "--vfs", "4", "--yes")
	if r.code != ExitReboot {
		t.Fatalf("exit %d\n%s%s", r.code, r.out, r.err)
	}
	for _, w := range []string{"reboot-required", "sriov", "skipped", "waits for the reboot"} {
		if !strings.Contains(r.out, w) {
			t.Errorf("output lacks %q:\n%s", w, r.out)
		}
	}
	if _, err := os.Stat(h.Path(sriov.UnitPath("0000:03:00.0"))); err == nil {
		t.Error("the sriov unit went in before the reboot")
	}
}

// After the firmware change and the reboot, a dry run plans 0 then 4 VFs on
// both ports and their units.
func TestSetupVFsDryRunAfterFirmware(t *testing.T) {
	h := fixture.Host(t, "mlnx-cx4lx-off", "mlnx-cx4lx-on")
	r := photonctlWith(t, runnertest.New(t).Tools("systemctl"), "--root", h.Root(), "setup", "--only", "sriov", "--vfs", "4", "--dry-run")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.out, r.err)
	}
	for _, w := range []string{"/sys/bus/pci/devices/0000:03:00.0/sriov_numvfs", "0, then 4", sriov.UnitPath("0000:03:00.1")} {
		if !strings.Contains(r.out, w) {
			t.Errorf("plan lacks %q:\n%s", w, r.out)
		}
	}
}

// Bad input through the binary: exit 2, nothing written.
func TestSetupVFsBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--vfs", "999"}, "allows at most 64 VFs"},
		{[]string{"--vfs", "2", "--pf", "eno1"}, "cannot have VFs"},
		{[]string{"--vfs", "2", "--pf", "0000:18:00.9"}, "pf"},
		{[]string{"--vfs", "-2"}, "vfs"},
	} {
		h := fixture.Host(t, "sriov-x710-vfs")
		r := photonctlWith(t, runnertest.New(t), append([]string{"--root", h.Root(), "setup", "--only", "sriov", "--yes"}, tc.args...)...)
		if r.code != 2 || !strings.Contains(r.err, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, r.code, r.err, tc.want)
		}
		if _, err := os.Stat(h.Path("/etc/systemd/system", sriov.UnitName("0000:18:00.0"))); err == nil {
			t.Errorf("%v: unit written", tc.args)
		}
	}
}
