package dpdkenv

import (
	"context"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/doctor"
	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/golden"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/runner/runnertest"
	"github.com/photonctl/photonctl/pkg/spec"
)

// guestLayers are issue 17's guest: an igb VF on vfio-pci, Debian's DPDK
// 22.11 runtime, no libdpdk.pc, no libfstack.a.
var guestLayers = []string{"q35-igb", "q35-igb-vfs", "dpdkenv-debian-guest"}

// linked124 is what make fstack FF_PATH=/opt/src/f-stack stamps and what
// the binary loads on that guest.
var linked124 = Linked{Fstack: "1.24", BuiltFrom: "/opt/src/f-stack", FlowIsolate: "no",
	DPDK: "22.11.11", DPDKLib: "/lib/x86_64-linux-gnu/librte_eal.so.23"}

func linkedChecks(t *testing.T, h *host.Host, f *runnertest.Fake, o Options) map[string]doctor.Result {
	t.Helper()
	env := &engine.Env{Host: h, Run: f, Spec: spec.Default()}
	rep, err := doctor.Run(context.Background(), env, ChecksWith(o), nil)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]doctor.Result{}
	for _, r := range rep.Checks {
		if _, dup := byID[r.ID]; dup {
			t.Errorf("two results with ID %s", r.ID)
		}
		byID[r.ID] = r
		if (r.Status == doctor.Warn || r.Status == doctor.Fail) && r.Fix == "" {
			t.Errorf("%s: %s without a fix", r.ID, r.Status)
		}
	}
	golden.Assert(t, "testdata/"+strings.ReplaceAll(t.Name(), "/", "-")+".golden", render(rep.Checks))
	return byID
}

func expect(t *testing.T, rs map[string]doctor.Result, id string, st doctor.Status, detail ...string) {
	t.Helper()
	r, ok := rs[id]
	if !ok {
		t.Errorf("no result %s", id)
		return
	}
	if r.Status != st {
		t.Errorf("%s = %s (%s), want %s", id, r.Status, r.Detail, st)
	}
	for _, d := range detail {
		if !strings.Contains(r.Detail, d) {
			t.Errorf("%s detail %q lacks %q", id, r.Detail, d)
		}
	}
}

// On issue 17's guest a photonctl with F-Stack linked in has all it needs:
// nothing fails for want of files only a rebuild uses. The same host judged
// by a photonctl without F-Stack fails dpdk-version and libfstack.
func TestLinkedOnGuest(t *testing.T) {
	t.Run("linked", func(t *testing.T) {
		h := fixture.Host(t, guestLayers...)
		rs := linkedChecks(t, h, runnertest.New(t), Options{Linked: &linked124})
		for id, r := range rs {
			if r.Status == doctor.Fail || r.Status == doctor.Warn {
				t.Errorf("%s = %s: %s", id, r.Status, r.Detail)
			}
		}
		expect(t, rs, IDDPDKVersion, doctor.OK,
			"DPDK 22.11.11 loaded by this photonctl (/lib/x86_64-linux-gnu/librte_eal.so.23) fits the F-Stack 1.24 linked into it",
			"no DPDK development files on this host (pkg-config is not installed")
		expect(t, rs, IDLibfstack, doctor.OK,
			"F-Stack 1.24 linked into this photonctl (built from /opt/src/f-stack, without FF_FLOW_ISOLATE)",
			"no libfstack.a on this host (looked at /usr/local/lib/libfstack.a, /usr/local/lib64/libfstack.a)")
		expect(t, rs, IDFlowIsolate, doctor.OK, "built without FF_FLOW_ISOLATE and its devices 0000:01:10.0 (vfio-pci) are not shared")
	})
	t.Run("not-linked", func(t *testing.T) {
		h := fixture.Host(t, guestLayers...)
		rs := linkedChecks(t, h, runnertest.New(t), Options{})
		expect(t, rs, IDDPDKVersion, doctor.Fail, "DPDK not installed")
		expect(t, rs, IDLibfstack, doctor.Fail, "libfstack.a not found")
		if _, ok := rs[IDFlowIsolate]; ok {
			t.Errorf("flow-isolate judged without any F-Stack: %+v", rs[IDFlowIsolate])
		}
	})
}

// The loaded DPDK is judged against the F-Stack linked in: a mismatch
// still fails.
func TestLinkedDPDKMismatch(t *testing.T) {
	h := fixture.Host(t, guestLayers...)
	l := linked124
	l.DPDK, l.DPDKLib = "23.11.2", "/usr/local/lib64/librte_eal.so.24"
	rs := linkedChecks(t, h, runnertest.New(t), Options{Linked: &l})
	expect(t, rs, IDDPDKVersion, doctor.Fail, "DPDK 23.11.2 loaded by this photonctl (/usr/local/lib64/librte_eal.so.24), but the F-Stack 1.24 linked into it needs DPDK 22.11")
	if f := rs[IDDPDKVersion].Fix; !strings.Contains(f, "install DPDK 22.11's runtime libraries") || !strings.Contains(f, "(F-Stack 1.25)") {
		t.Errorf("fix: %s", f)
	}
}

// With its own libdpdk.pc and libfstack.a the host is checked as before,
// for a rebuild, and both are said; flow-isolate follows the build stamp,
// not the library on disk.
func TestLinkedWithHostFiles(t *testing.T) {
	l := Linked{Fstack: "1.22", BuiltFrom: "/build/f-stack", FlowIsolate: "no", DPDK: "20.11.3", DPDKLib: "/usr/local/lib64/librte_eal.so.21"}
	t.Run("fit", func(t *testing.T) {
		h := fixture.Host(t, "dpdkenv-healthy")
		writeHostFile(t, h, ffPath+"/lib/libfstack.a", fakeLibfstack(true))
		rs := linkedChecks(t, h, healthyPC.fake(t), Options{FFPath: ffPath, Linked: &l})
		expect(t, rs, IDDPDKVersion, doctor.OK,
			"DPDK 20.11.3 loaded by this photonctl (/usr/local/lib64/librte_eal.so.21) fits the F-Stack 1.22 linked into it; on this host, for a rebuild: DPDK 20.11.0 (pkg-config --modversion libdpdk) fits F-Stack 1.22 (/root/f-stack-1.22/RELEASE_NOTES.md)")
		expect(t, rs, IDLibfstack, doctor.OK,
			"F-Stack 1.22 linked into this photonctl (built from /build/f-stack, without FF_FLOW_ISOLATE); on this host, for a rebuild: /root/f-stack-1.22/lib/libfstack.a (F-Stack 1.22 from /root/f-stack-1.22/RELEASE_NOTES.md), built with FF_FLOW_ISOLATE")
		// The PF 0000:03:00.0 carries eth0: without FF_FLOW_ISOLATE in
		// the linked F-Stack the dataplane takes its traffic, whatever the
		// library on disk was built with.
		expect(t, rs, IDFlowIsolate, doctor.Warn, "built without FF_FLOW_ISOLATE and gets PF 0000:03:00.0",
			"/root/f-stack-1.22/lib/libfstack.a on this host is built with FF_FLOW_ISOLATE: a rebuild of photonctl against it changes this")
	})
	t.Run("host-mismatch", func(t *testing.T) {
		h := fixture.Host(t, "dpdkenv-healthy", "dpdkenv-dpdk-mismatch")
		writeHostFile(t, h, ffPath+"/lib/libfstack.a", fakeLibfstack(false))
		rs := linkedChecks(t, h, pkgConfig{modversion: "21.11.2", version: "0.29.2"}.fake(t), Options{FFPath: ffPath, Linked: &l})
		expect(t, rs, IDDPDKVersion, doctor.Fail, "fits the F-Stack 1.22 linked into it; on this host, for a rebuild: DPDK 21.11.2 (pkg-config --modversion libdpdk), but F-Stack 1.22")
		if f := rs[IDDPDKVersion].Fix; !strings.HasPrefix(f, "install DPDK 20.11 for F-Stack 1.22") {
			t.Errorf("fix: %s", f)
		}
	})
	t.Run("host-lib-corrupt", func(t *testing.T) {
		h := fixture.Host(t, "dpdkenv-healthy")
		writeHostFile(t, h, ffPath+"/lib/libfstack.a", []byte("!<arch>\nff_dpdk_if.o/   0           0     0     644     9999      `\n"))
		rs := linkedChecks(t, h, healthyPC.fake(t), Options{FFPath: ffPath, Linked: &l})
		expect(t, rs, IDLibfstack, doctor.Fail, "F-Stack 1.22 linked into this photonctl", "for a rebuild: /root/f-stack-1.22/lib/libfstack.a is not a usable static library")
		// The stamp still judges the dataplane's isolation.
		expect(t, rs, IDFlowIsolate, doctor.Warn, "built without FF_FLOW_ISOLATE")
	})
}

// Without FF_PATH the tree photonctl was built from is what a rebuild
// uses, when the host has it; a tree the host lacks is not looked at (its
// folder's name says no installed version).
func TestLinkedBuiltFrom(t *testing.T) {
	t.Run("on-host", func(t *testing.T) {
		h := fixture.Host(t, "dpdkenv-healthy")
		writeHostFile(t, h, ffPath+"/lib/libfstack.a", fakeLibfstack(true))
		l := Linked{Fstack: "1.22", BuiltFrom: ffPath, DPDK: "20.11.3"}
		rs := linkedChecks(t, h, healthyPC.fake(t), Options{Linked: &l})
		expect(t, rs, IDLibfstack, doctor.OK, "FF_FLOW_ISOLATE not stamped", "for a rebuild: /root/f-stack-1.22/lib/libfstack.a (F-Stack 1.22")
		expect(t, rs, IDFlowIsolate, doctor.OK, "judged by /root/f-stack-1.22/lib/libfstack.a: this photonctl's build did not stamp how its F-Stack was built")
	})
	t.Run("elsewhere", func(t *testing.T) {
		h := fixture.Host(t, guestLayers...)
		l := Linked{Fstack: "1.24", BuiltFrom: "/root/f-stack-1.23", DPDK: "22.11.1"}
		rs := linkedChecks(t, h, runnertest.New(t), Options{Linked: &l})
		expect(t, rs, IDLibfstack, doctor.OK, "no libfstack.a on this host (looked at /usr/local/lib/libfstack.a, /usr/local/lib64/libfstack.a)")
		expect(t, rs, IDFlowIsolate, doctor.Skip, "did not stamp whether its F-Stack was built with FF_FLOW_ISOLATE")
	})
}

// A photonctl built with -tags fstack but not by make fstack: the loaded
// DPDK is said, the match is not checked.
func TestLinkedNotStamped(t *testing.T) {
	h := fixture.Host(t, guestLayers...)
	rs := linkedChecks(t, h, runnertest.New(t), Options{Linked: &Linked{DPDK: "22.11.11"}})
	expect(t, rs, IDDPDKVersion, doctor.OK, "DPDK 22.11.11 loaded by this photonctl; the F-Stack linked into it was not stamped at build (built without make fstack), so the match is not checked")
	expect(t, rs, IDLibfstack, doctor.OK, "F-Stack (its version not stamped at build: built without make fstack) linked into this photonctl (FF_FLOW_ISOLATE not stamped)")
}
