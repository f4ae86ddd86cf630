package udev

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/runner/runnertest"
)

func TestReadNameInput(t *testing.T) {
	h := fixture.Host(t, "names-netplan")
	mac, _ := net.ParseMAC("3c:fd:fe:aa:00:01")
	nic := NIC{Name: "eth0", PCI: "0000:3b:00.0", Type: 1, DevID: "0x0", MAC: mac}
	in := ReadNameInput(h, nic, nil)
	if in.Slot != "1" || in.SlotCount != 1 || !in.MultiFunction || in.BridgeSlot != "" {
		t.Fatalf("input = %+v, want slot 1, multi-function (sibling .1)", in)
	}
	// Config space, where readable, decides: header type 0x00 is single.
	cfg := make([]byte, 64)
	if err := os.WriteFile(h.Path("/sys/devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0/config"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	if in := ReadNameInput(h, nic, nil); in.MultiFunction {
		t.Error("header type 0x00 read as multi-function")
	}
	cfg[0x0e] = 0x80
	os.WriteFile(h.Path("/sys/devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0/config"), cfg, 0o644)
	if in := ReadNameInput(h, nic, nil); !in.MultiFunction {
		t.Error("header type 0x80 not read as multi-function")
	}
	// A slot holding the bridge above the NIC, not the NIC itself.
	os.WriteFile(h.Path("/sys/bus/pci/slots/1/address"), []byte("0000:3a:00\n"), 0o644)
	if in := ReadNameInput(h, nic, nil); in.Slot != "" || in.BridgeSlot != "1" {
		t.Errorf("input = %+v, want bridge slot 1", in)
	}
	// A rule pins the MAC: the last non-final one, unless a final one came first.
	pins := []PinFile{
		{Path: "/etc/udev/rules.d/70-persistent-net.rules", Pins: []Pin{{Name: "lan0", MAC: "3c:fd:fe:aa:00:01", Line: 2, Final: true}}},
		{Path: "/etc/udev/rules.d/80-x.rules", Pins: []Pin{{Name: "other", MAC: "3c:fd:fe:aa:00:01", Line: 1}}},
	}
	if in := ReadNameInput(h, nic, pins); in.Pinned != "lan0" || in.PinnedBy != "/etc/udev/rules.d/70-persistent-net.rules line 2" {
		t.Errorf("pinned %q by %q", in.Pinned, in.PinnedBy)
	}
}

func TestKeepDebianApplyNamesNow(t *testing.T) {
	h, nl, _ := testHost(t, "names-debian")
	fake := runnertest.New(t).
		Expect(runnertest.Call{Argv: []string{"update-initramfs", "-u"}}).
		Expect(runnertest.Call{Argv: []string{"udevadm", "control", "--reload-rules"}}).
		Expect(runnertest.Call{Argv: []string{"udevadm", "trigger", "--action=add", "--subsystem-match=net"}})
	env := newEnv(h, nl, fake, "keep")
	env.Spec.ApplyNamesNow = true
	rep := runSetup(t, env, &Step{Getenv: noSSH})
	if st := rep.Steps[0]; st.Status != engine.StatusChanged {
		t.Fatalf("status %s (%s), want changed (no reboot: names applied now)", st.Status, st.Message)
	}
	if !h.Exists(RulesPath) {
		t.Error("no rules file")
	}
}

func TestKeepWithoutInitramfsToolSaysSo(t *testing.T) {
	h, nl, _ := testHost(t, "names-centos7-cx4")
	p, err := (&Step{Getenv: noSSH}).Check(context.Background(), newEnv(h, nl, runnertest.New(t), "keep"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range p.Changes {
		if c.String() == "run: dracut -f" {
			t.Error("plans dracut, which is not installed")
		}
	}
	if !strings.Contains(p.Message, "dracut is not installed") {
		t.Errorf("message %q does not say dracut is missing", p.Message)
	}
}

func TestVirtioNICUsesItsPCIParent(t *testing.T) {
	h := fixture.Host(t, "names-nm")
	dev := h.Path("/sys/devices/pci0000:00/0000:00:03.0/virtio2")
	if err := os.MkdirAll(dev, 0o755); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(h.Path("/sys/class/net/eth9"), 0o755)
	if err := os.Symlink("../../../devices/pci0000:00/0000:00:03.0/virtio2", h.Path("/sys/class/net/eth9/device")); err != nil {
		t.Fatal(err)
	}
	if pci, p := pciDevice(h, "/sys/class/net/eth9"); pci != "0000:00:03.0" || p != "/sys/devices/pci0000:00/0000:00:03.0" {
		t.Fatalf("pciDevice = %q %q", pci, p)
	}
	in := ReadNameInput(h, NIC{Name: "eth9", PCI: "0000:00:03.0", Type: 1, DevID: "0x0"}, nil)
	if p, err := Predict(in); err != nil || p.Name != "enp0s3" {
		t.Errorf("Predict = %+v, %v; want enp0s3", p, err)
	}
	// A NIC on another bus (USB) has no PCI device to name it by.
	os.MkdirAll(h.Path("/sys/devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.0"), 0o755)
	os.MkdirAll(h.Path("/sys/class/net/usb0"), 0o755)
	os.Symlink("../../../devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.0", h.Path("/sys/class/net/usb0/device"))
	if pci, _ := pciDevice(h, "/sys/class/net/usb0"); pci != "" {
		t.Errorf("USB NIC got PCI %q", pci)
	}
}

func TestUdevNames(t *testing.T) {
	h := fixture.Host(t, "names-nm")
	if !udevNames(h) {
		t.Fatal("80-net-setup-link.rules not seen")
	}
	if globalUncertainty(h) != "" {
		t.Errorf("uncertain: %s", globalUncertainty(h))
	}
	// Masked the Debian way: a link to /dev/null in /etc/udev/rules.d.
	if err := os.Symlink("/dev/null", h.Path("/etc/udev/rules.d/80-net-setup-link.rules")); err != nil {
		t.Fatal(err)
	}
	if udevNames(h) {
		t.Error("masked 80-net-setup-link.rules still counts")
	}
	if g := globalUncertainty(h); !strings.Contains(g, "names follow the kernel's probe order") {
		t.Errorf("uncertainty %q", g)
	}
}

func TestPinnable(t *testing.T) {
	for _, tc := range []struct {
		n    NIC
		want string
	}{
		{NIC{Name: "eth0", Type: 1}, ""},
		{NIC{Name: "ib0", Type: 32}, "ARP type 32 is not Ethernet"},
		{NIC{Name: "wlan0", Type: 1, DevType: "wlan"}, "a wlan device"},
	} {
		if got := pinnable(tc.n); (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("pinnable(%s) = %q, want %q", tc.n.Name, got, tc.want)
		}
	}
}
