package hugepages

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/runner/runnertest"
	"github.com/photonctl/photonctl/pkg/spec"
)

func envFor(t *testing.T, h *host.Host, mod func(*spec.Spec)) *engine.Env {
	sp := spec.Default()
	mod(&sp)
	if err := sp.Validate(); err != nil {
		t.Fatal(err)
	}
	return &engine.Env{Host: h, Run: runnertest.New(t), Spec: sp}
}

func run(t *testing.T, env *engine.Env, s *Step) *engine.Report {
	t.Helper()
	rep, err := engine.Run(context.Background(), env, []engine.Step{s}, []engine.Step{s}, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestReservePersistAndSecondRunIsNoop(t *testing.T) {
	h := fixture.Host(t, "base-centos7-2node")
	s, k := newTestStep(t, h, -1)
	env := envFor(t, h, func(sp *spec.Spec) { sp.Hugepages = 64 })
	rep := run(t, env, s)
	if got := rep.Steps[0].Status; got != engine.StatusChanged {
		t.Fatalf("status %s (%s), want changed", got, rep.Steps[0].Message)
	}
	if n, _ := h.ReadInt(NrPath(2048, AllNodes)); n != 64 {
		t.Errorf("nr_hugepages = %d, want 64", n)
	}
	b, err := h.ReadFile(SysctlFile)
	if err != nil || !strings.Contains(string(b), "\nvm.nr_hugepages = 64\n") {
		t.Errorf("sysctl file = %q, %v", b, err)
	}
	if len(k.mounts) != 1 || k.mounts[0] != "/dev/hugepages " {
		t.Errorf("mounts = %q, want one hugetlbfs on /dev/hugepages", k.mounts)
	}
	if rep.BackupID == "" {
		t.Error("no backup ID for a run that wrote a file")
	}

	env2 := envFor(t, h, func(sp *spec.Spec) { sp.Hugepages = 64 })
	writes := len(k.writes)
	rep = run(t, env2, s)
	if got := rep.Steps[0].Status; got != engine.StatusOK {
		t.Errorf("second run: status %s, want ok; changes %v", got, rep.Steps[0].Changes)
	}
	if len(k.writes) != writes || len(k.mounts) != 1 {
		t.Errorf("second run wrote sysfs %v or mounted %v", k.writes[writes:], k.mounts)
	}
}

func TestPerNodeWritesOnlyThatNode(t *testing.T) {
	h := fixture.Host(t, "base-centos7-2node", "hp-mounted")
	s, k := newTestStep(t, h, -1)
	env := envFor(t, h, func(sp *spec.Spec) { sp.Hugepages = 32; sp.NUMANode = "1" })
	rep := run(t, env, s)
	if rep.Steps[0].Status != engine.StatusChanged {
		t.Fatalf("status %s: %s", rep.Steps[0].Status, rep.Steps[0].Message)
	}
	want := []string{"/sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages=32"}
	if strings.Join(k.writes, ";") != strings.Join(want, ";") {
		t.Errorf("writes %q, want %q", k.writes, want)
	}
	if n, _ := h.ReadInt(NrPath(2048, 0)); n != 0 {
		t.Errorf("node0 got %d pages, want 0", n)
	}
	if n, _ := h.ReadInt(NrPath(2048, AllNodes)); n != 32 {
		t.Errorf("global pool %d, want 32 (the node's)", n)
	}
	if h.Exists(SysctlFile) {
		t.Error("per-node pages persisted with vm.nr_hugepages, which would spread them over all nodes")
	}
	args, _ := s.KernelArgs(context.Background(), env)
	if strings.Join(args, " ") != "hugepagesz=2M hugepages=1:32" {
		t.Errorf("kernel args %q", args)
	}
}

func TestShortfallRetriesThenRestores(t *testing.T) {
	h := fixture.Host(t, "base-centos7-2node", "hp-mounted")
	s, k := newTestStep(t, h, 40)
	s.Attempts = 3
	env := envFor(t, h, func(sp *spec.Spec) { sp.Hugepages = 64 })
	rep := run(t, env, s)
	st := rep.Steps[0]
	if st.Status != engine.StatusFailed {
		t.Fatalf("status %s, want failed", st.Status)
	}
	for _, w := range []string{"asked for 64", "got 40 after 3 tries", "fragmented", "back at 0"} {
		if !strings.Contains(st.Message, w) {
			t.Errorf("message %q lacks %q", st.Message, w)
		}
	}
	tries := 0
	for _, w := range k.writes {
		if strings.HasSuffix(w, "nr_hugepages=64") {
			tries++
		}
	}
	if tries != 3 {
		t.Errorf("%d tries, want 3: %q", tries, k.writes)
	}
	if n, _ := h.ReadInt(NrPath(2048, AllNodes)); n != 0 {
		t.Errorf("nr_hugepages left at %d, want the old 0", n)
	}
	if h.Exists(SysctlFile) {
		t.Error("the sysctl file was written although the reservation failed")
	}
}

func TestRefusesMoreThanMemory(t *testing.T) {
	h := fixture.Host(t, "base-centos7-2node")
	s, k := newTestStep(t, h, -1)
	env := envFor(t, h, func(sp *spec.Spec) { sp.Hugepages = 100; sp.HugepageSize = "1G" })
	_, err := engine.Run(context.Background(), env, []engine.Step{s}, []engine.Step{s}, engine.Options{})
	if !engine.IsBadInput(err) {
		t.Fatalf("err = %v, want bad input", err)
	}
	if !strings.Contains(err.Error(), "100 × 1G hugepages is 100.0 GiB, more than the 62.8 GiB") {
		t.Errorf("message: %v", err)
	}
	if len(k.writes) != 0 || h.Exists(SysctlFile) || h.Exists(host.BackupsDir) {
		t.Errorf("something was written: %v", k.writes)
	}
}

func TestUnknownNodeIsBadInput(t *testing.T) {
	h := fixture.Host(t, "base-centos7-2node")
	s, _ := newTestStep(t, h, -1)
	env := envFor(t, h, func(sp *spec.Spec) { sp.Hugepages = 8; sp.NUMANode = "7" })
	_, err := s.Check(context.Background(), env)
	if !engine.IsBadInput(err) || !strings.Contains(err.Error(), "NUMA node 7 does not exist") {
		t.Fatalf("err = %v", err)
	}
}

func TestGigantic1GWantsKernelArgsAndDefersShortfallToBoot(t *testing.T) {
	h := fixture.Host(t, "base-centos7-2node")
	s, _ := newTestStep(t, h, 2)
	env := envFor(t, h, func(sp *spec.Spec) { sp.Hugepages = 8; sp.HugepageSize = "1G" })
	rep := run(t, env, s)
	st := rep.Steps[0]
	if st.Status != engine.StatusReboot || !rep.RebootRequired {
		t.Fatalf("status %s reboot %v (%s), want reboot-required", st.Status, rep.RebootRequired, st.Message)
	}
	if got := strings.Join(env.KernelArgs["hugepages"], " "); got != "default_hugepagesz=1G hugepagesz=1G hugepages=8" {
		t.Errorf("kernel args %q", got)
	}
	if h.Exists(SysctlFile) {
		t.Error("1G pages persisted through vm.nr_hugepages, which counts default-size pages")
	}
	if n, _ := h.ReadInt(NrPath(1048576, AllNodes)); n != 0 {
		t.Errorf("a partial 1G reservation (%d) was left behind", n)
	}
	found := false
	for _, c := range st.Changes {
		if c.String() == "mount: hugetlbfs on /dev/hugepages-1G" && strings.Contains(c.After, "pagesize=1G") {
			found = true
		}
	}
	if !found {
		t.Errorf("no pagesize=1G mount planned: %+v", st.Changes)
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	h := fixture.Host(t, "base-centos7-2node")
	before := fixture.Snapshot(t, h.Root())
	s, k := newTestStep(t, h, -1)
	env := envFor(t, h, func(sp *spec.Spec) { sp.Hugepages = 64 })
	rep, err := engine.Run(context.Background(), env, []engine.Step{s}, []engine.Step{s}, engine.Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Steps[0].Status != engine.StatusPlanned || len(rep.Steps[0].Changes) != 3 {
		t.Errorf("dry run: %+v", rep.Steps[0])
	}
	if after := fixture.Snapshot(t, h.Root()); after != before {
		t.Errorf("dry run changed the tree:\n%s", fixture.Diff(before, after))
	}
	if len(k.writes)+len(k.mounts) != 0 {
		t.Errorf("dry run wrote %v %v", k.writes, k.mounts)
	}
}

func TestShortfallErrorIsSentinel(t *testing.T) {
	h := fixture.Host(t, "base-centos7-2node", "hp-mounted")
	s, _ := newTestStep(t, h, 1)
	s.Attempts = 1
	env := envFor(t, h, func(sp *spec.Spec) { sp.Hugepages = 4 })
	p, err := s.Check(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Apply(context.Background(), env, p)
	if !errors.Is(err, ErrShortfall) {
		t.Fatalf("err = %v, want ErrShortfall", err)
	}
}
