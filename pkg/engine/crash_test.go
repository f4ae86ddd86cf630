package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/runner/runnertest"
	"github.com/photonctl/photonctl/pkg/spec"
)

// In the moment between another run taking the lock and writing its record,
// the lock file is empty: the refusal still names the holder, from
// /proc/locks.
func TestLockNamesHolderBeforeItsRecord(t *testing.T) {
	h := fixture.Host(t, "base-centos7-2node")
	f, err := h.OpenLock(engine.LockPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	_, err = engine.Acquire(h, "photonctl rollback --id x")
	want := fmt.Sprintf("(pid %d, ", os.Getpid())
	if !errors.Is(err, engine.ErrLocked) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), ", since 20") {
		t.Fatalf("err = %v, want it to name pid %d with its command and start time", err, os.Getpid())
	}
}

// owingStep writes its file, then owes a command and a reboot; crash makes
// it stop (as a kill would) after the file and before the command.
type owingStep struct {
	fileStep
	crash bool
}

var rebuild = []string{"dracut", "-f"}

func (s *owingStep) Owes(env *engine.Env, p *engine.Plan) engine.Owed {
	return engine.Owed{Reboot: true, Run: []host.Command{{Argv: rebuild, Redo: true}}}
}

func (s *owingStep) Apply(ctx context.Context, env *engine.Env, p *engine.Plan) (bool, error) {
	if _, err := env.Txn.WriteFile(s.path, []byte(s.content), 0o644); err != nil {
		return false, err
	}
	if s.crash {
		return false, errors.New("killed")
	}
	if err := env.Txn.Command(rebuild, nil, true); err != nil {
		return false, err
	}
	_, err := env.Run.Run(ctx, rebuild...)
	return true, err
}

// A step interrupted after its file and before its command: the state says
// what it owes, and the next run runs the command, though the file already
// holds, and asks for the reboot.
func TestUnfinishedStepIsFinishedByNextRun(t *testing.T) {
	h := fixture.Host(t, "base-centos7-2node")
	s := &owingStep{fileStep: fileStep{name: "names", path: "/etc/udev/rules.d/70-x.rules", content: "x\n"}, crash: true}
	env := &engine.Env{Host: h, Run: runnertest.New(t), Spec: spec.Default()}
	rep, err := engine.Run(context.Background(), env, []engine.Step{s}, []engine.Step{s}, engine.Options{})
	if err != nil || !rep.Failed() {
		t.Fatalf("first run: %v %+v", err, rep)
	}
	st, err := engine.LoadState(h)
	if err != nil || len(st.Unfinished) != 1 || st.Unfinished[0].Step != "names" || !st.Unfinished[0].Reboot {
		t.Fatalf("state after the interrupted step: %+v %v", st, err)
	}
	// A dry run says a reboot is ahead and what waits.
	dry, err := engine.Run(context.Background(), &engine.Env{Host: h, Run: runnertest.New(t), Spec: spec.Default()},
		[]engine.Step{s}, []engine.Step{s}, engine.Options{DryRun: true})
	if err != nil || !dry.RebootRequired || strings.Join(dry.Finished, ",") != "names" {
		t.Errorf("dry run: %+v %v", dry, err)
	}
	s.crash = false
	fake := runnertest.New(t)
	fake.Expect(runnertest.Call{Argv: rebuild})
	rep, err = engine.Run(context.Background(), &engine.Env{Host: h, Run: fake, Spec: spec.Default()},
		[]engine.Step{s}, []engine.Step{s}, engine.Options{})
	if err != nil || rep.Failed() || !rep.RebootRequired || strings.Join(rep.Finished, ",") != "names" {
		t.Fatalf("second run: %v %+v", err, rep)
	}
	if rep.Steps[0].Status != engine.StatusOK {
		t.Errorf("the file held, so the step is ok: %s", statuses(rep))
	}
	st, _ = engine.LoadState(h)
	if len(st.Unfinished) != 0 || strings.Join(st.PendingReboot, ",") != "names" {
		t.Errorf("state after finishing: %+v", st)
	}
}

// A step that fails before changing anything owes nothing.
func TestFailureBeforeAnyChangeOwesNothing(t *testing.T) {
	h := fixture.Host(t, "base-centos7-2node")
	a := &fileStep{name: "grub", path: "/etc/a", content: "a\n", reboot: true, failApply: errors.New("no")}
	rep := runAll(t, h, engine.Options{}, a)
	if !rep.Failed() || rep.RebootRequired {
		t.Errorf("%+v", rep)
	}
	if h.Exists(engine.StatePath) {
		b, _ := h.ReadFile(engine.StatePath)
		t.Errorf("state left: %s", b)
	}
}
