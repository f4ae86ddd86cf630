package engine_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/runner/runnertest"
	"github.com/photonctl/photonctl/pkg/spec"
)

// fileStep wants one file to hold one content.
type fileStep struct {
	name, path, content  string
	failApply, failCheck error
	reboot, waits        bool
	args                 []string
	applied              int
}

func (s *fileStep) Name() string         { return s.name }
func (s *fileStep) WaitsForReboot() bool { return s.waits }
func (s *fileStep) KernelArgs(context.Context, *engine.Env) ([]string, error) {
	return s.args, nil
}

func (s *fileStep) Check(ctx context.Context, env *engine.Env) (*engine.Plan, error) {
	if s.failCheck != nil {
		return nil, s.failCheck
	}
	old, _ := env.Host.ReadFile(s.path)
	if string(old) == s.content {
		return &engine.Plan{Message: s.path + " holds", RebootPending: s.reboot && !booted(env)}, nil
	}
	return &engine.Plan{Changes: []engine.Change{{Path: s.path, Before: string(old), After: s.content}}, RebootPending: s.reboot}, nil
}

// booted: the fixture's /proc/cmdline says "applied" once "rebooted".
func booted(env *engine.Env) bool {
	b, _ := env.Host.ReadFile("/proc/cmdline")
	return strings.Contains(string(b), "applied")
}

func (s *fileStep) Apply(ctx context.Context, env *engine.Env, p *engine.Plan) (bool, error) {
	s.applied++
	if s.failApply != nil {
		return false, s.failApply
	}
	_, err := env.Txn.WriteFile(s.path, []byte(s.content), 0o644)
	return s.reboot, err
}

func (s *fileStep) Verify(ctx context.Context, env *engine.Env) error { return nil }

func newEnv(t *testing.T, h *host.Host) *engine.Env {
	return &engine.Env{Host: h, Run: runnertest.New(t), Spec: spec.Default()}
}

func steps(s ...*fileStep) []engine.Step {
	out := make([]engine.Step, len(s))
	for i := range s {
		out[i] = s[i]
	}
	return out
}

func runAll(t *testing.T, h *host.Host, opt engine.Options, s ...*fileStep) *engine.Report {
	t.Helper()
	rep, err := engine.Run(context.Background(), newEnv(t, h), steps(s...), steps(s...), opt)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func statuses(r *engine.Report) string {
	var out []string
	for _, s := range r.Steps {
		out = append(out, s.Name+"="+string(s.Status))
	}
	return strings.Join(out, " ")
}

func TestDryRunTouchesNothing(t *testing.T) {
	h := fixture.Host(t, "base-centos7-2node")
	before := fixture.Snapshot(t, h.Root())
	a := &fileStep{name: "grub", path: "/etc/a.conf", content: "a\n"}
	rep := runAll(t, h, engine.Options{DryRun: true}, a)
	if statuses(rep) != "grub=planned" || !rep.DryRun || a.applied != 0 {
		t.Errorf("dry run: %s applied=%d", statuses(rep), a.applied)
	}
	if after := fixture.Snapshot(t, h.Root()); after != before {
		t.Errorf("dry run changed the tree:\n%s", fixture.Diff(before, after))
	}
}

func TestSecondRunIsNoop(t *testing.T) {
	h := fixture.Host(t, "base-centos7-2node")
	a := &fileStep{name: "names", path: "/etc/a.conf", content: "a\n"}
	if got := statuses(runAll(t, h, engine.Options{}, a)); got != "names=changed" {
		t.Fatalf("first run %s", got)
	}
	before := withoutLock(fixture.Snapshot(t, h.Root()))
	rep := runAll(t, h, engine.Options{}, a)
	if statuses(rep) != "names=ok" || a.applied != 1 || rep.BackupID != "" {
		t.Errorf("second run %s applied=%d backup=%q", statuses(rep), a.applied, rep.BackupID)
	}
	if after := withoutLock(fixture.Snapshot(t, h.Root())); after != before {
		t.Errorf("second run changed the tree:\n%s", fixture.Diff(before, after))
	}
}

func TestFailureHalfwayIsRestorable(t *testing.T) {
	h := fixture.Host(t, "base-centos7-2node")
	os.WriteFile(h.Path("/etc/os-release"), []byte("original\n"), 0o600)
	os.Chmod(h.Path("/etc/os-release"), 0o600)
	a := &fileStep{name: "grub", path: "/etc/os-release", content: "changed\n"}
	b := &fileStep{name: "names", path: "/etc/b.conf", content: "b\n", failApply: errors.New("boom")}
	c := &fileStep{name: "hugepages", path: "/etc/c.conf", content: "c\n"}
	rep := runAll(t, h, engine.Options{}, a, b, c)
	if got := statuses(rep); got != "grub=changed names=failed hugepages=skipped" {
		t.Fatalf("statuses %s", got)
	}
	if !rep.Failed() || c.applied != 0 || h.Exists("/etc/c.conf") || h.Exists("/etc/b.conf") {
		t.Errorf("later steps ran or wrote: c.applied=%d", c.applied)
	}
	if rep.BackupID == "" {
		t.Fatal("no backup ID")
	}
	if _, err := h.Rollback(rep.BackupID); err != nil {
		t.Fatal(err)
	}
	got, _ := h.ReadFile("/etc/os-release")
	st, _ := os.Stat(h.Path("/etc/os-release"))
	if string(got) != "original\n" || st.Mode().Perm() != 0o600 {
		t.Errorf("after rollback: %q %v", got, st.Mode())
	}
}

func TestCheckErrorAppliesNothing(t *testing.T) {
	h := fixture.Host(t, "base-centos7-2node")
	before := fixture.Snapshot(t, h.Root())
	a := &fileStep{name: "grub", path: "/etc/a.conf", content: "a\n"}
	b := &fileStep{name: "sriov", path: "/etc/b.conf", failCheck: engine.BadInput("--vfs 999: the PF allows 8")}
	_, err := engine.Run(context.Background(), newEnv(t, h), steps(a, b), steps(a, b), engine.Options{})
	if !engine.IsBadInput(err) || !strings.Contains(err.Error(), "sriov: --vfs 999") {
		t.Fatalf("err = %v", err)
	}
	if a.applied != 0 {
		t.Error("a step was applied although a later Check failed")
	}
	after := fixture.Snapshot(t, h.Root())
	// Only the lock file may appear.
	for _, l := range strings.Split(fixture.Diff(before, after), "\n") {
		if l != "" && !strings.HasPrefix(l, "+ var/") {
			t.Errorf("changed: %s", l)
		}
	}
}

func TestRebootStopsWaitersAndResumes(t *testing.T) {
	h := fixture.Host(t, "base-centos7-2node")
	grub := &fileStep{name: "grub", path: "/etc/default/grub", content: "iommu\n", reboot: true}
	vfs := &fileStep{name: "sriov", path: "/etc/vfs", content: "4\n", waits: true}
	hp := &fileStep{name: "hugepages", path: "/etc/hp", content: "64\n"}

	rep := runAll(t, h, engine.Options{DryRun: true}, grub, vfs, hp)
	if got := statuses(rep); got != "grub=planned sriov=skipped hugepages=planned" || !rep.RebootRequired {
		t.Errorf("dry run: %s reboot=%v", got, rep.RebootRequired)
	}
	rep = runAll(t, h, engine.Options{}, grub, vfs, hp)
	if got := statuses(rep); got != "grub=reboot-required sriov=skipped hugepages=changed" || !rep.RebootRequired {
		t.Fatalf("first run: %s reboot=%v", got, rep.RebootRequired)
	}
	st, err := engine.LoadState(h)
	if err != nil || strings.Join(st.PendingReboot, ",") != "grub" || st.BootID != engine.BootID(h) {
		t.Fatalf("state %+v %v", st, err)
	}
	// Run again without rebooting: still waiting.
	rep = runAll(t, h, engine.Options{}, grub, vfs, hp)
	if got := statuses(rep); got != "grub=reboot-required sriov=skipped hugepages=ok" || vfs.applied != 0 {
		t.Fatalf("run before the reboot: %s", got)
	}
	// Reboot: a new boot ID and the new command line.
	os.WriteFile(h.Path("/proc/sys/kernel/random/boot_id"), []byte("00000000-new-boot\n"), 0o644)
	os.WriteFile(h.Path("/proc/cmdline"), []byte("ro quiet applied\n"), 0o644)
	rep = runAll(t, h, engine.Options{}, grub, vfs, hp)
	if got := statuses(rep); got != "grub=ok sriov=changed hugepages=ok" || rep.RebootRequired {
		t.Fatalf("after the reboot: %s reboot=%v", got, rep.RebootRequired)
	}
	if strings.Join(rep.Resumed, ",") != "grub" {
		t.Errorf("resumed %v", rep.Resumed)
	}
	if st, _ := engine.LoadState(h); len(st.PendingReboot) != 0 {
		t.Errorf("state still pending: %+v", st)
	}
}

func TestKernelArgsFromEveryStep(t *testing.T) {
	h := fixture.Host(t, "base-centos7-2node")
	grub := &fileStep{name: "grub", path: "/etc/g", content: "g\n"}
	names := &fileStep{name: "names", path: "/etc/n", content: "n\n", args: []string{"net.ifnames=0"}}
	hp := &fileStep{name: "hugepages", path: "/etc/h", content: "h\n", args: []string{"hugepagesz=1G", "net.ifnames=0"}}
	env := newEnv(t, h)
	// Only grub is selected; the others still say what they want.
	if _, err := engine.Run(context.Background(), env, steps(grub, names, hp), steps(grub), engine.Options{DryRun: true}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(env.KernelArgs.All(), " "); got != "net.ifnames=0 hugepagesz=1G" {
		t.Errorf("kernel args %q", got)
	}
}

func TestLockRefusesSecondSetup(t *testing.T) {
	h := fixture.Host(t, "base-centos7-2node")
	l, err := engine.Acquire(h, "photonctl setup --hugepages 64")
	if err != nil {
		t.Fatal(err)
	}
	a := &fileStep{name: "grub", path: "/etc/a", content: "a\n"}
	_, err = engine.Run(context.Background(), newEnv(t, h), steps(a), steps(a), engine.Options{})
	if !errors.Is(err, engine.ErrLocked) || !strings.Contains(err.Error(), "photonctl setup --hugepages 64") {
		t.Fatalf("err = %v, want ErrLocked naming the holder", err)
	}
	if a.applied != 0 {
		t.Error("applied under someone else's lock")
	}
	l.Release()
	if _, err := engine.Run(context.Background(), newEnv(t, h), steps(a), steps(a), engine.Options{}); err != nil {
		t.Errorf("after release: %v", err)
	}
}

func TestSelectSteps(t *testing.T) {
	a := &fileStep{name: "grub"}
	b := &fileStep{name: "hugepages"}
	got, err := engine.SelectSteps(steps(a, b), nil, []string{"grub"})
	if err != nil || len(got) != 1 || got[0].Name() != "hugepages" {
		t.Errorf("skip: %v %v", got, err)
	}
	if _, err := engine.SelectSteps(steps(a, b), []string{"hugepage"}, nil); !engine.IsBadInput(err) || !strings.Contains(err.Error(), "grub, hugepages") {
		t.Errorf("unknown step: %v", err)
	}
}

func TestDeclinedPlanChangesNothing(t *testing.T) {
	h := fixture.Host(t, "base-centos7-2node")
	a := &fileStep{name: "grub", path: "/etc/a", content: "a\n"}
	asked := 0
	_, err := engine.Run(context.Background(), newEnv(t, h), steps(a), steps(a), engine.Options{
		Confirm: func(*engine.Report) (bool, error) { asked++; return false, nil }})
	if !errors.Is(err, engine.ErrDeclined) || asked != 1 || a.applied != 0 || h.Exists("/etc/a") {
		t.Errorf("err=%v asked=%d applied=%d", err, asked, a.applied)
	}
}

// withoutLock drops the lock file, which every real run touches.
func withoutLock(snap string) string {
	var keep []string
	for _, l := range strings.Split(snap, "\n") {
		if !strings.Contains(l, "setup.lock") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func TestOnceCallsOnce(t *testing.T) {
	env := &engine.Env{}
	calls := 0
	f := func() (any, error) { calls++; return calls, errors.New("e") }
	v1, err1 := env.Once("k", f)
	v2, err2 := env.Once("k", f)
	if calls != 1 || v1 != 1 || v2 != 1 || err1 == nil || err2 == nil {
		t.Errorf("calls=%d v=%v,%v err=%v,%v", calls, v1, v2, err1, err2)
	}
}
