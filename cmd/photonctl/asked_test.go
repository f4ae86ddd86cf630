package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/netnstest"
	"github.com/photonctl/photonctl/pkg/runner/runnertest"
)

type stepLine struct {
	Name, Status, Message, Hint string
	Changes                     []json.RawMessage
}

// dryRunJSON runs setup --dry-run -o json in a throwaway namespace holding
// the q35 igb guest's enp1s0 with its address and default route (issue 9's
// VM), and returns the steps by name.
func dryRunJSON(t *testing.T, h *host.Host, args ...string) (map[string]stepLine, result) {
	t.Helper()
	var r result
	netnstest.Within(t, func(nl *netlink.Handle) {
		l := netnstest.AddLink(t, nl, "enp1s0", "52:54:00:12:34:56")
		netnstest.AddAddr(t, nl, l, "10.0.2.15/24")
		netnstest.DefaultVia(t, nl, l, "10.0.2.2")
		fake := runnertest.New(t).Tools("update-grub", "grub-mkconfig", "update-initramfs", "udevadm", "systemctl")
		r = photonctlWith(t, fake, append([]string{"--root", h.Root(), "-o", "json", "setup", "--dry-run"}, args...)...)
	})
	var rep struct{ Steps []stepLine }
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
		t.Fatalf("exit %d, %v:\n%s%s", r.code, err, r.out, r.err)
	}
	out := map[string]stepLine{}
	for _, s := range rep.Steps {
		out[s.Name] = s
	}
	return out, r
}

// q35Guest is the q35 igb guest with the memory and CPU files setup reads.
func q35Guest(t *testing.T) *host.Host {
	t.Helper()
	h := fixture.Host(t, "q35-igb", "hp-mounted")
	for p, data := range map[string]string{
		"/proc/meminfo": "MemTotal:        4013568 kB\nMemFree:         3000000 kB\nHugePages_Total:       0\nHugepagesize:       2048 kB\n",
		"/proc/cpuinfo": "processor\t: 0\nvendor_id\t: GenuineIntel\n",
		"/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages":   "0\n",
		"/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages": "0\n",
	} {
		if err := os.MkdirAll(filepath.Dir(h.Path(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		writeHostFile(t, h, p, []byte(data))
	}
	return h
}

func notAsked(s stepLine) bool {
	return s.Status == "skipped" && strings.HasPrefix(s.Message, "not asked for")
}

// A user who asks for hugepages gets hugepages: grub, names and fstack are
// not planned, and the plan says what they would do and how to ask
// (setup --hugepages 5120 --yes used to edit GRUB, write udev rules and
// /etc/f-stack.conf for a guessed NIC).
func TestHugepagesAloneTouchesNothingElse(t *testing.T) {
	h := q35Guest(t)
	steps, r := dryRunJSON(t, h, "--hugepages", "64")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.err)
	}
	if s := steps["hugepages"]; s.Status != "planned" {
		t.Errorf("hugepages: %+v, want planned", s)
	}
	for _, n := range []string{"grub", "names", "fstack", "sriov", "mlnx"} {
		if s := steps[n]; !notAsked(s) || len(s.Changes) != 0 {
			t.Errorf("%s: %+v, want skipped, not asked for", n, s)
		}
	}
	for n, want := range map[string]string{"grub": "the IOMMU arguments SR-IOV VFs and vfio-pci need", "names": "names will not change", "fstack": "--fstack writes /etc/f-stack.conf"} {
		if !strings.Contains(steps[n].Hint, want) {
			t.Errorf("%s hint %q lacks %q", n, steps[n].Hint, want)
		}
	}
}

// The lead's VM run: --pf, --vfs, --hugepages, --names keep and --bind-vfio
// plan grub (the IOMMU --vfs and --bind-vfio need), sriov, names and
// hugepages, and not fstack.
func TestVMScenarioPlansWhatTheFlagsAskFor(t *testing.T) {
	h := q35Guest(t)
	// Before the IOMMU reboot: no IOMMU arguments anywhere yet.
	writeHostFile(t, h, "/etc/default/grub", []byte("GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nGRUB_CMDLINE_LINUX=\"console=ttyS0\"\n"))
	writeHostFile(t, h, "/proc/cmdline", []byte("BOOT_IMAGE=/boot/vmlinuz-6.1.0-28-amd64 root=UUID=0b6c3a57 ro console=ttyS0 quiet\n"))
	steps, r := dryRunJSON(t, h, "--pf", "enp1s0", "--vfs", "4", "--hugepages", "64", "--names", "keep", "--bind-vfio")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.err)
	}
	if s := steps["grub"]; s.Status != "planned" || !strings.Contains(s.Message, "intel_iommu=on iommu=pt") {
		t.Errorf("grub: %+v, want the IOMMU arguments planned", s)
	}
	for _, n := range []string{"sriov", "names", "hugepages"} {
		if s := steps[n]; notAsked(s) {
			t.Errorf("%s: %+v, want it asked for", n, s)
		}
	}
	if s := steps["fstack"]; !notAsked(s) {
		t.Errorf("fstack: %+v, want not asked for", s)
	}
}
