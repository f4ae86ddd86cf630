package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/golden"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/netnstest"
	"github.com/photonctl/photonctl/pkg/runner/runnertest"
)

// The links of testdata/hosts/healthy-cx4.txtar, as netlink shows them.
var healthyLinks = []struct{ name, mac string }{
	{"enp3s0f0", "98:03:9b:4a:c3:50"},
	{"enp3s0f1", "98:03:9b:4a:c3:51"},
	{"enp3s0f0v0", "02:50:c3:4a:9b:00"},
	{"enp3s0f0v1", "02:50:c3:4a:9b:01"},
	{"enp3s0f0v2", "02:50:c3:4a:9b:02"},
	{"enp3s0f0v3", "02:50:c3:4a:9b:03"},
}

// inHealthyNetns runs f on this goroutine's OS thread moved into a
// throwaway network namespace holding the fixture's links, the PF's address
// 10.20.30.40/24 and its default route via 10.20.30.1: the names and
// fstackconf checks read the current namespace through netlink, as the
// binary does on a real host.
func inHealthyNetns(t *testing.T, f func()) {
	t.Helper()
	netnstest.Within(t, func(nl *netlink.Handle) {
		for _, l := range healthyLinks {
			link := netnstest.AddLink(t, nl, l.name, l.mac)
			if l.name == "enp3s0f0" {
				netnstest.AddAddr(t, nl, link, "10.20.30.40/24")
				netnstest.DefaultVia(t, nl, link, "10.20.30.1")
			}
		}
		f()
	})
}

// healthyHost unpacks healthy-cx4 (with overlays) and installs the
// libfstack.a look-alike F-Stack 1.24's make install leaves, built with
// FF_FLOW_ISOLATE.
func healthyHost(t *testing.T, overlays ...string) *host.Host {
	t.Helper()
	h := fixture.Host(t, append([]string{"healthy-cx4"}, overlays...)...)
	if err := os.WriteFile(h.Path("/usr/local/lib/libfstack.a.1.24"), fakeLibfstack(true), 0o644); err != nil {
		t.Fatal(err)
	}
	return h
}

// mstconfigOn is mstconfig's query of the ConnectX-4 Lx with SR-IOV on and
// NUM_OF_VFS vfs, current and next boot (the rows laid out as in
// pkg/mlnx/testdata/mstconfig-q-off.txt).
func mstconfigOn(t *testing.T, vfs int) string {
	t.Helper()
	row := func(name, def, cur, next string) string {
		return fmt.Sprintf("        %-44s%-21s%-21s%-20s", name, def, cur, next)
	}
	var out []string
	for _, l := range strings.Split(mlnxOutput(t, "mstconfig-q-off.txt"), "\n") {
		switch f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(l), "*")); {
		case len(f) == 4 && f[0] == "NUM_OF_VFS":
			l = row(f[0], f[1], fmt.Sprint(vfs), fmt.Sprint(vfs))
		case len(f) == 4 && f[0] == "SRIOV_EN":
			l = row(f[0], f[1], "True(1)", "True(1)")
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// Tool answers on the healthy host, modelled on each tool's documented output.
const (
	healthyDmesg = `[    0.000000] Linux version 3.10.0-1160.el7.x86_64 (mockbuild@kbuilder.bsys.centos.org) (gcc version 4.8.5 20150623 (Red Hat 4.8.5-44) (GCC) ) #1 SMP Mon Oct 19 16:18:59 UTC 2020
[    0.000000] Command line: BOOT_IMAGE=/vmlinuz-3.10.0-1160.el7.x86_64 root=/dev/mapper/centos-root ro crashkernel=auto rd.lvm.lv=centos/root rd.lvm.lv=centos/swap rhgb quiet intel_iommu=on iommu=pt
[    0.000000] DMAR: IOMMU enabled
[    1.523412] DMAR: Intel(R) Virtualization Technology for Directed I/O
[    3.112233] mlx5_core 0000:03:00.0: firmware version: 14.32.1010
[    3.412233] mlx5_core 0000:03:00.1: firmware version: 14.32.1010
[   41.002311] mlx5_core 0000:03:00.0: E-Switch: Enable: mode(LEGACY), nvfs(4), active vports(5)
`
	healthyGCC = `gcc (GCC) 4.8.5 20150623 (Red Hat 4.8.5-44)
Copyright (C) 2015 Free Software Foundation, Inc.
This is free software; see the source for copying conditions.  There is NO
warranty; not even for MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.
`
	// rpm -qa of a host whose rdma packages came with MLNX_OFED.
	healthyRPM = "kernel\t3.10.0-1160.el7.x86_64\nrdma-core\t54mlnx1-1.54368\nlibibverbs\t54mlnx1-1.54368\nlibibverbs-utils\t54mlnx1-1.54368\nmlnx-ofa_kernel\t5.4-OFED.5.4.3.6.8.1.rhel7u9\n"
)

// healthyFake is the strict fake runner for one doctor run on the healthy
// host, answering every tool a check runs; answers replaces some answers
// (for a broken variant). exact: each call must happen exactly once (the
// healthy run); otherwise a call may also not happen (a broken variant can
// make a check stop before its tool).
func healthyFake(t *testing.T, exact bool, answers map[string]string) *runnertest.Fake {
	t.Helper()
	a := map[string]string{
		"dmesg":                 healthyDmesg,
		"mstconfig":             mstconfigOn(t, 8),
		"ofed_info":             mlnxOutput(t, "ofed-info-s.txt"),
		"gcc":                   healthyGCC,
		"rpm":                   healthyRPM,
		"pkg-config-modversion": "22.11.4\n",
		"pkg-config-version":    "0.29.2\n",
	}
	for k, v := range answers {
		a[k] = v
	}
	f := runnertest.New(t)
	for _, c := range []struct {
		key  string
		argv []string
	}{
		{"dmesg", []string{"dmesg"}},
		{"mstconfig", []string{"mstconfig", "-d", "0000:03:00.0", "-e", "q"}},
		{"ofed_info", []string{"ofed_info", "-s"}},
		{"gcc", []string{"gcc", "--version"}},
		{"rpm", []string{"rpm", "-qa", "--qf", `%{NAME}\t%{VERSION}-%{RELEASE}\n`}},
		{"pkg-config-modversion", []string{"pkg-config", "--modversion", "libdpdk"}},
		{"pkg-config-version", []string{"pkg-config", "--version"}},
	} {
		if exact {
			f.Expect(runnertest.Call{Argv: c.argv, Output: a[c.key]})
		} else {
			f.Allow(runnertest.Call{Argv: c.argv, Output: a[c.key]})
		}
	}
	return f
}

// doctorJSON is `photonctl doctor -o json` as parsed back.
type doctorJSON struct {
	Schema  int
	Checks  []struct{ ID, Group, Status, Detail, Fix string }
	Summary struct{ OK, Warn, Fail, Skip int }
}

// runHealthyDoctor runs the whole doctor, as the binary does, on h with the
// host spec of the fixture, inside the fixture's namespace.
func runHealthyDoctor(t *testing.T, h *host.Host, f *runnertest.Fake, args ...string) result {
	t.Helper()
	// The checks read FF_PATH (libfstack's tree) and $SSH_CONNECTION (the
	// session's link) from the environment: neither is part of the fixture.
	t.Setenv("FF_PATH", "")
	t.Setenv("SSH_CONNECTION", "")
	var r result
	inHealthyNetns(t, func() {
		r = photonctlWith(t, f, append([]string{"--root", h.Root(), "--config", h.Path("/etc/photonctl/host.yaml")}, args...)...)
	})
	return r
}

// TestDoctorHealthyHost: every check of every group is ok on the healthy
// host, in text and JSON, each external tool asked once per run.
func TestDoctorHealthyHost(t *testing.T) {
	h := healthyHost(t)
	r := runHealthyDoctor(t, h, healthyFake(t, true, nil), "doctor")
	if r.code != 0 {
		t.Errorf("exit %d, want 0; stderr %s", r.code, r.err)
	}
	golden.Assert(t, "testdata/doctor-healthy.golden", []byte(strings.ReplaceAll(r.out, h.Root(), "$ROOT")))

	r = runHealthyDoctor(t, h, healthyFake(t, true, nil), "-o", "json", "doctor")
	if r.code != 0 {
		t.Errorf("json: exit %d, want 0; stderr %s", r.code, r.err)
	}
	golden.Assert(t, "testdata/doctor-healthy-json.golden", []byte(strings.ReplaceAll(r.out, h.Root(), "$ROOT")))
	var rep doctorJSON
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
		t.Fatalf("%v:\n%s", err, r.out)
	}
	groups := map[string]bool{}
	for _, c := range rep.Checks {
		groups[c.Group] = true
		if c.Status != "ok" {
			t.Errorf("%s (%s): %s: %s", c.ID, c.Group, c.Status, c.Detail)
		}
	}
	// Every check the binary has ran and reported.
	for _, c := range checks() {
		if !groups[c.Group] {
			t.Errorf("group %s missing from the report", c.Group)
		}
	}
	ids := map[string]bool{}
	for _, c := range rep.Checks {
		ids[c.ID] = true
	}
	for _, c := range checks() {
		if !ids[c.ID] && !ids[c.ID+"-2M"] {
			t.Errorf("check %s reported nothing", c.ID)
		}
	}
	if rep.Schema != 1 || rep.Summary.OK != len(rep.Checks) || rep.Summary.Fail+rep.Summary.Warn+rep.Summary.Skip != 0 {
		t.Errorf("schema %d summary %+v for %d results", rep.Schema, rep.Summary, len(rep.Checks))
	}
}
