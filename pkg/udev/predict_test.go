package udev

import (
	"errors"
	"strings"
	"testing"
)

func TestPredict(t *testing.T) {
	eth := func(pci string) NameInput {
		return NameInput{Current: "eth0", PCI: pci, Type: 1, DevPort: 0, DevID: "0x0", NameAssignType: 1}
	}
	with := func(in NameInput, f func(*NameInput)) NameInput { f(&in); return in }
	for _, tc := range []struct {
		name string
		in   NameInput
		want string
		err  string
	}{
		{"path, single function", eth("0000:03:00.0"), "enp3s0", ""},
		{"path, multi-function port 0", with(eth("0000:03:00.0"), func(i *NameInput) { i.MultiFunction = true }), "enp3s0f0", ""},
		{"path, function 1", eth("0000:03:00.1"), "enp3s0f1", ""},
		{"path, hex bus and slot", with(eth("0000:af:1f.3"), func(i *NameInput) { i.MultiFunction = true }), "enp175s31f3", ""},
		{"path, PCI domain", eth("0001:02:00.0"), "enP1p2s0", ""},
		{"path, dev_port", with(eth("0000:04:00.0"), func(i *NameInput) { i.DevPort = 1 }), "enp4s0d1", ""},
		{"path, multi-function and dev_port", with(eth("0000:81:00.1"), func(i *NameInput) { i.DevPort = 1 }), "enp129s0f1d1", ""},
		{"onboard acpi_index", with(eth("0000:00:19.0"), func(i *NameInput) { i.AcpiIndex = 1 }), "eno1", ""},
		{"onboard SMBIOS index", with(eth("0000:00:19.0"), func(i *NameInput) { i.Index = 2 }), "eno2", ""},
		{"acpi_index wins over SMBIOS index", with(eth("0000:00:19.0"), func(i *NameInput) { i.AcpiIndex = 3; i.Index = 2 }), "eno3", ""},
		{"onboard beats slot", with(eth("0000:3b:00.0"), func(i *NameInput) { i.AcpiIndex = 5; i.Slot = "1"; i.SlotCount = 1 }), "eno5", ""},
		{"slot, multi-function", with(eth("0000:3b:00.1"), func(i *NameInput) { i.Slot = "1"; i.SlotCount = 1 }), "ens1f1", ""},
		{"slot, single function", with(eth("0000:5e:00.0"), func(i *NameInput) { i.Slot = "7"; i.SlotCount = 1 }), "ens7", ""},
		{"slot, PCI domain", with(eth("0002:01:00.0"), func(i *NameInput) { i.Slot = "4"; i.SlotCount = 1 }), "enP2s4", ""},
		{"InfiniBand", with(eth("0000:03:00.0"), func(i *NameInput) { i.Type = 32 }), "ibp3s0", ""},
		{"wlan", with(eth("0000:02:00.0"), func(i *NameInput) { i.DevType = "wlan" }), "wlp2s0", ""},
		{"pinned by a rule", with(eth("0000:03:00.0"), func(i *NameInput) {
			i.Pinned = "data0"
			i.PinnedBy = "/etc/udev/rules.d/70-persistent-net.rules line 3"
		}), "data0", ""},
		{"driver's own name", with(eth("0000:03:00.0"), func(i *NameInput) { i.Current = "enp3s0np0"; i.NameAssignType = 2 }), "enp3s0np0", ""},
		{"bridge slot", with(eth("0000:04:00.0"), func(i *NameInput) { i.BridgeSlot = "2" }), "", "behind a bridge in PCI slot 2"},
		{"two slots", with(eth("0000:04:00.0"), func(i *NameInput) { i.Slot = "2"; i.SlotCount = 2 }), "", "2 PCI slots claim"},
		{"phys_port_name", with(eth("0000:03:00.0"), func(i *NameInput) { i.PhysPortName = "p0" }), "", "phys_port_name"},
		{"dev_id without dev_port", with(eth("0000:03:00.0"), func(i *NameInput) { i.DevPort = -1; i.DevID = "0x1" }), "", "no dev_port and dev_id 0x1"},
		{"huge index", with(eth("0000:00:19.0"), func(i *NameInput) { i.AcpiIndex = 20000 }), "", "above 16383"},
		{"no PCI", with(eth(""), func(i *NameInput) {}), "", "no PCI device"},
		{"bad PCI", eth("03:00.0"), "", "not DDDD:BB:SS.F"},
		{"unknown type", with(eth("0000:03:00.0"), func(i *NameInput) { i.Type = 772 }), "", "link type 772"},
		{"pinned to a bad name", with(eth("0000:03:00.0"), func(i *NameInput) { i.Pinned = "a/b"; i.PinnedBy = "x" }), "", "invalid name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Predict(tc.in)
			if tc.err != "" {
				if !errors.Is(err, ErrUnpredictable) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Predict = %q, %v; want ErrUnpredictable saying %q", p.Name, err, tc.err)
				}
				return
			}
			if err != nil || p.Name != tc.want || p.Source == "" {
				t.Fatalf("Predict = %+v, %v; want %s with a source", p, err, tc.want)
			}
		})
	}
}

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"eth0", "enp3s0f0", "data-0_x", "abcdefghijklmno"} {
		if err := ValidateName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "abcdefghijklmnop", "a/b", "a b", "a\tb", "eth0:1", `a"b`} {
		if err := ValidateName(bad); !errors.Is(err, ErrBadName) {
			t.Errorf("%q: err = %v, want ErrBadName", bad, err)
		}
	}
}

func TestKernelName(t *testing.T) {
	for n, want := range map[string]bool{"eth0": true, "eth12": true, "eth": false, "ethx": false, "eth+1": false, "enp3s0": false, "veth0": false} {
		if kernelName(n) != want {
			t.Errorf("kernelName(%q) = %v", n, !want)
		}
	}
}
