package sriov

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/runner/runnertest"
	"github.com/photonctl/photonctl/pkg/spec"
)

// --pf naming an interface that is no PCI network function says what it is
// and why it cannot be the PF, as bad input (exit 2).
func TestPFThatIsNoPCIFunction(t *testing.T) {
	h := fixture.Host(t, "sriov-x710-vfs", "fstack-virtio")
	// A bridge: a virtual interface, no device link.
	if err := os.MkdirAll(h.Path("/sys/class/net/br0"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(h.Path("/sys/class/net/br0/uevent"), []byte("DEVTYPE=bridge\nINTERFACE=br0\nIFINDEX=9\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for pf, want := range map[string][]string{
		"eth0":  {"eth0 is a virtio-net interface", "virtio2 on PCI 0000:00:03.0", "no SR-IOV", "the NICs that can have VFs are"},
		"br0":   {"br0 is a bridge interface with no device", "sriov_totalvfs"},
		"wlan9": {"--pf wlan9: no interface of that name"},
	} {
		sp := spec.Default()
		sp.VFs, sp.PF = 2, pf
		env := &engine.Env{Host: h, Run: runnertest.New(t), Spec: sp}
		_, err := NewStep().Check(context.Background(), env)
		if !engine.IsBadInput(err) {
			t.Fatalf("--pf %s: want bad input, got %v", pf, err)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("--pf %s: %q lacks %q", pf, err, w)
			}
		}
	}
}
