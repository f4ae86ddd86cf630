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

// Doctor checks against what setup last applied: after setup --hugepages 8,
// a plain doctor wants 8 pages, and the boot reservation to match.
func TestDoctorChecksTheAppliedSpec(t *testing.T) {
	h := fixture.Host(t, "base-centos7-2node", "hp-mounted")
	if r := photonctl(t, "--root", h.Root(), "setup", "--only", "hugepages", "--hugepages", "8", "--yes"); r.code != 0 {
		t.Fatalf("setup: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if !h.Exists("/var/lib/photonctl/applied.json") {
		t.Fatal("setup kept no applied spec")
	}
	// The fixture has no kernel to fill the pool's free count.
	if err := os.WriteFile(h.Path("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"), []byte("8\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := photonctl(t, "--root", h.Root(), "doctor", "--only", "hugepages"); !strings.Contains(r.out, "hugepages-persistent") || r.code != 0 {
		t.Fatalf("doctor after setup: exit %d\n%s%s", r.code, r.out, r.err)
	}
	for f, v := range map[string]string{"nr_hugepages": "4", "free_hugepages": "4"} {
		if err := os.WriteFile(h.Path("/sys/kernel/mm/hugepages/hugepages-2048kB/"+f), []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(h.Path("/etc/sysctl.conf"), []byte("vm.nr_hugepages = 4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := photonctl(t, "--root", h.Root(), "doctor", "--only", "hugepages")
	for _, w := range []string{"the spec wants 8 free", "at boot vm.nr_hugepages = 4 (/etc/sysctl.conf line 1", "but the spec wants 8"} {
		if !strings.Contains(r.out, w) {
			t.Errorf("doctor lacks %q:\n%s", w, r.out)
		}
	}
	if r.code != ExitFailure {
		t.Errorf("exit %d, want 1", r.code)
	}
}
