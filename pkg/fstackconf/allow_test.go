package fstackconf

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/doctor"
	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/host"
)

// The allow-list follows the PF's driver: on the q35 guest's igb (not
// bifurcated) after --vfs 2 --bind-vfio it is the VF alone, never the PF
// that carries the host's address and its VFs; on the ConnectX-4 Lx
// (mlx5, bifurcated) the PF and the VF.
func TestAllowListFollowsTheDriver(t *testing.T) {
	t.Run("igb: the VF only", func(t *testing.T) {
		nl := testNS(t)
		addLink(t, nl, "enp1s0", "10.0.2.15/24", "10.0.2.2")
		env := &engine.Env{Host: fixture.Host(t, "q35-igb", "q35-igb-vfs"), NL: nl, Spec: askFstack()}
		env.Spec.FstackVersion = "1.25"
		r, err := Render(env, "")
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := mustParse(t, r.Data).Get("dpdk", "allow"); got != "0000:01:10.0" {
			t.Errorf("allow = %q, want the VF 0000:01:10.0 alone", got)
		}
	})
	t.Run("igb before its VFs exist: the predicted VF only", func(t *testing.T) {
		nl := testNS(t)
		addLink(t, nl, "enp1s0", "10.0.2.15/24", "10.0.2.2")
		h := fixture.Host(t, "q35-igb")
		writeFile(t, h, "/sys/devices/system/cpu/online", "0-1\n")
		env := &engine.Env{Host: h, NL: nl, Spec: askFstack()}
		env.Spec.FstackVersion, env.Spec.PF, env.Spec.VFs, env.Spec.BindVFIO = "1.25", "enp1s0", 2, true
		r, err := Render(env, "")
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := mustParse(t, r.Data).Get("dpdk", "allow"); got != "0000:01:10.0" {
			t.Errorf("allow = %q, want the VF sriov_offset 128 predicts, 0000:01:10.0, alone", got)
		}
	})
	t.Run("igb without VFs, the default route's NIC: refused", func(t *testing.T) {
		nl := testNS(t)
		addLink(t, nl, "enp1s0", "10.0.2.15/24", "10.0.2.2")
		h := fixture.Host(t, "q35-igb")
		writeFile(t, h, "/sys/devices/system/cpu/online", "0-1\n")
		env := &engine.Env{Host: h, NL: nl, Spec: askFstack()}
		env.Spec.FstackVersion, env.Spec.PF = "1.25", "enp1s0"
		_, err := Render(env, "")
		if !engine.IsBadInput(err) || !strings.Contains(err.Error(), "enp1s0, which carries the default route") {
			t.Fatalf("Render = %v, want bad input: enp1s0 carries the default route", err)
		}
	})
	t.Run("mlx5: the PF and the VF", func(t *testing.T) {
		env, _ := cx4Env(t, "fstack-cx4-vfs")
		env.Spec.FstackVersion = "1.25"
		r, err := Render(env, "")
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := mustParse(t, r.Data).Get("dpdk", "allow"); got != "0000:03:00.0,0000:03:00.2" {
			t.Errorf("allow = %q", got)
		}
	})
}

// With no --pf on a virtio VM, the default route's NIC is the only
// candidate: the fstack step skips, saying why, and never allow-lists it;
// named with --pf it is bad input.
func TestVirtioDefaultRouteIsNeverAllowListed(t *testing.T) {
	nl := testNS(t)
	addLink(t, nl, "eth0", "198.18.0.2/15", "198.18.0.1")
	env := &engine.Env{Host: fixture.Host(t, "fstack-cx4", "fstack-virtio"), NL: nl, Spec: askFstack()}
	env.Spec.FstackVersion = "1.25"
	p, err := NewStep().Check(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.Skip, "eth0, which carries the default route") || len(p.Changes) != 0 {
		t.Fatalf("plan %+v, want a skip saying eth0 carries the default route", p)
	}
	env.Spec.PF = "eth0"
	if _, err := Render(env, ""); !engine.IsBadInput(err) || errors.Is(err, ErrNoPF) {
		t.Fatalf("--pf eth0: %v, want bad input", err)
	}
}

// Doctor never suggests binding to vfio-pci the PF of VFs or the NIC
// that carries the default route: it says to take it out of the list.
func TestDoctorAllowNeverSuggestsBindingThePF(t *testing.T) {
	nl := testNS(t)
	addLink(t, nl, "enp1s0", "10.0.2.15/24", "10.0.2.2")
	env := &engine.Env{Host: fixture.Host(t, "q35-igb", "q35-igb-vfs"), NL: nl, Spec: askFstack()}
	env.Spec.FstackVersion = "1.25"
	withConf(t, env, "[dpdk]\nallow=0000:01:00.0,0000:01:10.0\n")
	res := runCheck(t, env, CheckAllow)
	if len(res) != 2 {
		t.Fatalf("got %+v", res)
	}
	pf, vf := res[0], res[1]
	if pf.Status != doctor.Fail || !strings.Contains(pf.Detail, "0000:01:00.0 is the PF of 2 VFs") ||
		strings.Contains(pf.Fix, "devbind") || strings.Contains(pf.Fix, "--bind=vfio-pci") || !strings.Contains(pf.Fix, "take 0000:01:00.0 out of allow") {
		t.Errorf("PF: %+v", pf)
	}
	if vf.Status != doctor.OK {
		t.Errorf("VF: %+v", vf)
	}
	// The PF without its VFs still carries the default route.
	h := env.Host
	for _, f := range []string{"virtfn0", "virtfn1"} {
		removeFile(t, h, "/sys/devices/pci0000:00/0000:00:02.0/0000:01:00.0/"+f)
	}
	writeFile(t, h, "/sys/devices/pci0000:00/0000:00:02.0/0000:01:00.0/sriov_numvfs", "0\n")
	res = runCheck(t, env, CheckAllow)
	if res[0].Status != doctor.Fail || !strings.Contains(res[0].Detail, "enp1s0, which carries the default route") || strings.Contains(res[0].Fix, "devbind") {
		t.Errorf("PF without VFs: %+v", res[0])
	}
}

func writeFile(t *testing.T, h *host.Host, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(h.Path(p)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(h.Path(p), []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func removeFile(t *testing.T, h *host.Host, p string) {
	t.Helper()
	if err := os.Remove(h.Path(p)); err != nil {
		t.Fatal(err)
	}
}
