package sriov

import (
	"os"

	"errors"
	"github.com/jaypipes/ghw"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/fixture"
)

func TestDiscoverX710(t *testing.T) {
	h := fixture.Host(t, "sriov-x710-vfs")
	pfs, err := Discover(h)
	if err != nil {
		t.Fatal(err)
	}
	if len(pfs) != 2 {
		t.Fatalf("want 2 PFs (I210 and X710), got %d: %+v", len(pfs), pfs)
	}
	igb, x := pfs[0], pfs[1]
	if igb.Addr != "0000:02:00.0" || igb.Driver != "igb" || igb.TotalVFs != -1 || igb.SRIOV() || igb.Iface() != "eno1" {
		t.Errorf("I210: %+v", igb)
	}
	if igb.Device != "I210 Gigabit Network Connection" {
		t.Errorf("I210 name from the fixture's pci.ids: %q", igb.Device)
	}
	if x.Addr != "0000:18:00.0" || x.VendorID != "8086" || x.DeviceID != "1572" || x.Driver != "i40e" {
		t.Errorf("X710 identity: %+v", x)
	}
	if x.Vendor != "Intel Corporation" || x.Device != "Ethernet Controller X710 for 10GbE SFP+" {
		t.Errorf("X710 names: %q %q", x.Vendor, x.Device)
	}
	if x.TotalVFs != 64 || x.NumVFs != 4 || x.Offset != 16 || x.Stride != 1 || !x.Autoprobe || x.NUMANode != 0 {
		t.Errorf("X710 SR-IOV: %+v", x)
	}
	if len(x.Netdevs) != 1 || x.Netdevs[0] != (Netdev{"ens1f0", "up", "3c:fd:fe:b8:91:a0"}) {
		t.Errorf("X710 netdevs: %+v", x.Netdevs)
	}
	want := []string{"enp24s2", "enp24s2f1", "enp24s2f2", "enp24s2f3"}
	if len(x.VFs) != 4 {
		t.Fatalf("VFs: %+v", x.VFs)
	}
	for i, v := range x.VFs {
		if v.Index != i || v.Addr != "0000:18:02."+string(rune('0'+i)) || v.Driver != "iavf" || len(v.Netdevs) != 1 || v.Netdevs[0] != want[i] {
			t.Errorf("VF %d: %+v", i, v)
		}
	}
}

func TestDiscoverCX4AndMissingTotalVFs(t *testing.T) {
	pfs, err := Discover(fixture.Host(t, "sriov-cx4lx-on"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pfs) != 2 || pfs[0].Iface() != "enp3s0f0" || pfs[1].Iface() != "enp3s0f1" {
		t.Fatalf("%+v", pfs)
	}
	for _, p := range pfs {
		if !p.Mellanox() || p.Driver != "mlx5_core" || p.TotalVFs != 8 || p.NumVFs != 0 || len(p.VFs) != 0 {
			t.Errorf("%+v", p)
		}
		if p.Device != "MT27710 Family [ConnectX-4 Lx]" {
			t.Errorf("name %q", p.Device)
		}
	}
	if pfs[1].Netdevs[0].OperState != "down" {
		t.Errorf("port 1 link: %+v", pfs[1].Netdevs)
	}

	pfs, err = Discover(fixture.Host(t, "sriov-no-totalvfs"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pfs) != 2 || pfs[0].TotalVFs != -1 || pfs[0].NUMANode != -1 || pfs[0].Vendor != "" {
		t.Fatalf("no pci.ids, no sriov_totalvfs: %+v", pfs)
	}
	if got := pfs[0].SRIOVState(); !strings.Contains(got, "sriov_totalvfs missing") {
		t.Errorf("state %q", got)
	}
}

func TestDiscoverNoSysfs(t *testing.T) {
	pfs, err := Discover(fixture.Host(t))
	if err != nil || len(pfs) != 0 {
		t.Fatalf("empty root: %v %v", pfs, err)
	}
}

func TestSelectPF(t *testing.T) {
	x710, _ := Discover(fixture.Host(t, "sriov-x710-vfs"))
	cx4, _ := Discover(fixture.Host(t, "sriov-cx4lx-on"))
	cx4off, _ := Discover(fixture.Host(t, "sriov-cx4lx-off"))
	notv, _ := Discover(fixture.Host(t, "sriov-no-totalvfs"))
	tests := []struct {
		name string
		pfs  []PF
		want string
		addr string // wanted PF; "" for an error
		bad  bool   // the error is bad input
		msg  []string
	}{
		{"only SR-IOV PF", x710, "", "0000:18:00.0", false, nil},
		{"by name", x710, "ens1f0", "0000:18:00.0", false, nil},
		{"by short PCI", cx4, "03:00.1", "0000:03:00.1", false, nil},
		{"by PCI upper case", cx4, "0000:03:00.0", "0000:03:00.0", false, nil},
		{"mellanox with SR-IOV off is a candidate", cx4off, "enp3s0f1", "0000:03:00.1", false, nil},
		{"two ports", cx4, "", "", true, []string{"choose one with --pf", "enp3s0f0 (0000:03:00.0", "enp3s0f1 (0000:03:00.1"}},
		{"non-SR-IOV PF", x710, "eno1", "", true, []string{"cannot have VFs", "sriov_totalvfs missing", "ens1f0 (0000:18:00.0"}},
		{"missing iface", x710, "ens1f9", "", true, []string{"no PCI network interface", "ens1f0"}},
		{"PCI typo", x710, "0000:18:00.7", "", true, []string{"no network function at PCI address 0000:18:00.7", "typo", "ens1f0"}},
		{"a VF by name", x710, "enp24s2f1", "", true, []string{"VF 1 of ens1f0"}},
		{"a VF by PCI", x710, "18:02.3", "", true, []string{"VF 3 of ens1f0"}},
		{"no SR-IOV at all", notv, "", "", false, []string{"no SR-IOV", "eno1 (0000:01:00.0", "BIOS"}},
		{"no SR-IOV at all, named", notv, "eno2", "", true, []string{"cannot have VFs", "no NIC on this host can have VFs"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pf, err := SelectPF(tc.pfs, tc.want)
			if tc.addr != "" {
				if err != nil || pf.Addr != tc.addr {
					t.Fatalf("got %v, %v; want %s", pf.Addr, err, tc.addr)
				}
				return
			}
			if err == nil {
				t.Fatalf("want an error, got %s", pf.Addr)
			}
			if engine.IsBadInput(err) != tc.bad {
				t.Errorf("bad input %v, want %v: %v", engine.IsBadInput(err), tc.bad, err)
			}
			if !tc.bad && !errors.Is(err, ErrNoSRIOV) {
				t.Errorf("want ErrNoSRIOV: %v", err)
			}
			for _, m := range tc.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q lacks %q", err, m)
				}
			}
		})
	}
}

// A PCI function without a modalias makes ghw drop its whole device list;
// the names then come from the same pci.ids directly.
func TestNamesWhenGhwGivesUp(t *testing.T) {
	h := fixture.Host(t, "sriov-x710-vfs")
	dir := h.Path("/sys/devices/pci0000:00/0000:00:1f.0/0000:00:1f.6")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../../devices/pci0000:00/0000:00:1f.0/0000:00:1f.6", h.Path(PCIDevices, "0000:00:1f.6")); err != nil {
		t.Fatal(err)
	}
	if info, err := ghw.PCI(ghw.WithChroot(h.Root()), ghw.WithPCIDB(loadPCIDB(h)), ghw.WithDisableTopology(),
		ghw.WithDisableWarnings()); err != nil || len(info.Devices) != 0 {
		t.Fatalf("ghw no longer gives up on a missing modalias (%v): names.go can drop its fallback", err)
	}
	pfs, err := Discover(h)
	if err != nil {
		t.Fatal(err)
	}
	if pfs[1].Device != "Ethernet Controller X710 for 10GbE SFP+" {
		t.Errorf("fallback name: %+v", pfs[1])
	}
}
