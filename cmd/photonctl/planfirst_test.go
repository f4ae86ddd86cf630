package main

import (
	"os"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/runner/runnertest"
)

// Every failure an apply would meet and the plan can know is caught before
// anything is applied: bad input exits 2, a broken host 1, and the root is
// byte for byte as it was.
func TestPlanFirstCatchesWhatApplyWouldFailOn(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fixtures []string
		prepare  func(t *testing.T, root string)
		args     []string
		code     int
		says     string
	}{
		{"no grub2-mkconfig in the root", []string{"grub-centos7"}, nil,
			[]string{"setup", "--only", "grub", "--yes"}, ExitFailure, "grub runs grub2-mkconfig: grub2-mkconfig is not installed"},
		{"--vfs over the ConnectX firmware's maximum", []string{"mlnx-cx4lx-off"}, nil,
			[]string{"setup", "--only", "mlnx,sriov", "--vfs", "999", "--yes"}, ExitUsage, "--vfs 999: ConnectX firmware allows at most 127 VFs per PF"},
		{"--vfs over sriov_totalvfs", []string{"sriov-x710-vfs"}, nil,
			[]string{"setup", "--only", "sriov", "--vfs", "65", "--yes"}, ExitUsage, "allows at most 64 VFs (sriov_totalvfs)"},
		{"VFs that need a firmware change no step of this run makes", []string{"sriov-cx4lx-on"}, nil,
			[]string{"setup", "--only", "sriov", "--vfs", "16", "--yes"}, ExitFailure, "its firmware allows 8 VFs (NUM_OF_VFS); the mlnx step sets SRIOV_EN=1 NUM_OF_VFS=16"},
		{"garbage in sriov_offset", []string{"sriov-x710-vfs"}, func(t *testing.T, root string) {
			if err := os.WriteFile(root+"/sys/devices/pci0000:00/0000:00:03.0/0000:18:00.0/sriov_offset", []byte("sixteen\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, []string{"setup", "--only", "sriov", "--vfs", "2", "--yes"}, ExitFailure, "reading /sys/bus/pci/devices/0000:18:00.0/sriov_offset"},
		{"garbage in nr_hugepages", []string{"base-centos7-2node", "hp-mounted"}, func(t *testing.T, root string) {
			if err := os.WriteFile(root+"/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", []byte("lots\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, []string{"setup", "--only", "hugepages", "--hugepages", "8", "--yes"}, ExitFailure, "nr_hugepages"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := fixture.Host(t, tc.fixtures...)
			if tc.prepare != nil {
				tc.prepare(t, h.Root())
			}
			before := fixture.Snapshot(t, h.Root())
			r := photonctlWith(t, runnertest.New(t), append([]string{"--root", h.Root()}, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.err, tc.says) || !strings.Contains(r.err, "nothing was changed") {
				t.Errorf("exit %d, want %d saying %q and nothing was changed\n%s%s", r.code, tc.code, tc.says, r.out, r.err)
			}
			if after := fixture.Snapshot(t, h.Root()); after != before {
				t.Errorf("the failed plan changed the root:\n%s", fixture.Diff(before, after))
			}
		})
	}
}
