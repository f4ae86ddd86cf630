package udev

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/host"
)

// The predicted name of the q35 guest's igb (testdata/hosts/q35-igb) and of
// variations of its sysfs, against net_id's slot rules: slot folders whose
// name is not a decimal number of at least 1 are ignored; the device's own
// slot names it; a slot on a bridge above it names it or not as the naming
// scheme in force says (v247 no, v251-v254 for multi-function devices only,
// v255 no), and where photonctl cannot know that scheme it says so.
func TestPredictSlotsQ35(t *testing.T) {
	const dev = "/sys/devices/pci0000:00/0000:00:02.0/0000:01:00.0"
	write := func(t *testing.T, h *host.Host, p, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(h.Path(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(h.Path(p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	slot := func(name, addr string) func(*testing.T, *host.Host) {
		return func(t *testing.T, h *host.Host) { write(t, h, "/sys/bus/pci/slots/"+name+"/address", addr+"\n") }
	}
	multi := func(t *testing.T, h *host.Host) {
		// A second function beside it: config space header type bit 7.
		cfg := make([]byte, 64)
		cfg[0x0e] = 0x80
		write(t, h, dev+"/config", string(cfg))
	}
	cmdline := func(arg string) func(*testing.T, *host.Host) {
		return func(t *testing.T, h *host.Host) {
			c, _ := h.ReadString("/proc/cmdline")
			write(t, h, "/proc/cmdline", c+" "+arg+"\n")
		}
	}
	noSystemd := func(t *testing.T, h *host.Host) {
		if err := os.Remove(h.Path("/usr/lib/x86_64-linux-gnu/systemd/libsystemd-shared-252.so")); err != nil {
			t.Fatal(err)
		}
	}
	osRelease := func(id string) func(*testing.T, *host.Host) {
		return func(t *testing.T, h *host.Host) { write(t, h, "/etc/os-release", "ID="+id+"\n") }
	}
	bridgeSlot := slot("3", "0000:00:02")
	for _, tc := range []struct {
		name string
		mods []func(*testing.T, *host.Host)
		want string // "" with err
		err  string
	}{
		{"q35 as it is: slot 0 is ignored", nil, "enp1s0", ""},
		{"pciehp's duplicate name 0-1 is ignored", []func(*testing.T, *host.Host){slot("0-2", "0000:01:00")}, "enp1s0", ""},
		{"a non-numeric slot name is ignored", []func(*testing.T, *host.Host){slot("pcie-slot", "0000:01:00")}, "enp1s0", ""},
		{"a real hotplug slot of the device", []func(*testing.T, *host.Host){slot("5", "0000:01:00")}, "ens5", ""},
		{"slot 05 is slot 5", []func(*testing.T, *host.Host){slot("05", "0000:01:00")}, "ens5", ""},
		{"two slots claim the device", []func(*testing.T, *host.Host){slot("5", "0000:01:00"), slot("6", "0000:01:00")}, "", "2 PCI slots claim"},
		{"the device's own slot wins over the bridge's", []func(*testing.T, *host.Host){slot("5", "0000:01:00"), bridgeSlot}, "ens5", ""},
		{"bridge slot, systemd 252, single function", []func(*testing.T, *host.Host){bridgeSlot}, "enp1s0", ""},
		{"bridge slot, systemd 252, multi-function", []func(*testing.T, *host.Host){bridgeSlot, multi}, "ens3f0", ""},
		{"bridge slot, net.naming-scheme=v255, multi-function", []func(*testing.T, *host.Host){bridgeSlot, multi, cmdline("net.naming-scheme=v255")}, "enp1s0f0", ""},
		{"bridge slot, net.naming-scheme=v247, multi-function", []func(*testing.T, *host.Host){bridgeSlot, multi, cmdline("net.naming-scheme=v247")}, "enp1s0f0", ""},
		{"bridge slot, net.naming-scheme=v245", []func(*testing.T, *host.Host){bridgeSlot, cmdline("net.naming-scheme=v245")}, "", "before v247"},
		{"bridge slot, a distribution's scheme", []func(*testing.T, *host.Host){bridgeSlot, cmdline("net.naming-scheme=rhel-9.4")}, "", "naming scheme is unknown"},
		{"bridge slot, systemd version unknown", []func(*testing.T, *host.Host){bridgeSlot, noSystemd}, "", "naming scheme is unknown"},
		{"slot 0 only, systemd version unknown", []func(*testing.T, *host.Host){noSystemd}, "enp1s0", ""},
		{"bridge slot, RHEL's 252, multi-function", []func(*testing.T, *host.Host){bridgeSlot, multi, osRelease("rhel")}, "", "rhel builds turn that off"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := fixture.Host(t, "q35-igb")
			for _, m := range tc.mods {
				m(t, h)
			}
			nic := NIC{Name: "enp1s0", PCI: "0000:01:00.0", Type: 1, DevID: "0x0", NameAssignType: 4}
			p, err := Predict(ReadNameInput(h, nic, nil))
			if tc.err != "" {
				if !errors.Is(err, ErrUnpredictable) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Predict = %+v, %v; want ErrUnpredictable saying %q", p, err, tc.err)
				}
				return
			}
			if err != nil || p.Name != tc.want {
				t.Fatalf("Predict = %+v, %v; want %s", p, err, tc.want)
			}
		})
	}
}

func TestNamingScheme(t *testing.T) {
	h := fixture.Host(t, "q35-igb")
	if v, from := NamingScheme(h); v != 252 || from != "systemd 252" {
		t.Errorf("NamingScheme = %d %q, want 252 from systemd 252", v, from)
	}
	if err := os.WriteFile(h.Path("/proc/cmdline"), []byte("ro net.naming-scheme=latest\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if v, _ := NamingScheme(h); v != 252 {
		t.Errorf("latest: %d, want the host's 252", v)
	}
	if err := os.WriteFile(h.Path("/usr/lib/x86_64-linux-gnu/systemd/libsystemd-shared-255.4-1.so"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(h.Path("/usr/lib/x86_64-linux-gnu/systemd/libsystemd-shared-252.so"))
	if v, _ := NamingScheme(h); v != 255 {
		t.Errorf("libsystemd-shared-255.4-1.so: %d, want 255", v)
	}
}
