package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/runner"
)

// StepReport is one step's line in the report.
type StepReport struct {
	Name    string   `json:"name"`
	Status  Status   `json:"status"`
	Changes []Change `json:"changes"`
	Message string   `json:"message"`
	// Hint: for a step not asked for, what the whole procedure would want
	// from it and the flag that asks for it.
	Hint string `json:"hint,omitempty"`
}

// Schema is the version of setup's JSON report. 2: changes are typed (kind,
// path or argv, line, key, before, after) instead of prose in path; steps
// not asked for carry a hint.
const Schema = 2

// Report is setup's outcome; its JSON form is schema Schema.
type Report struct {
	Schema         int          `json:"schema"`
	DryRun         bool         `json:"dry_run"`
	RebootRequired bool         `json:"reboot_required"`
	Steps          []StepReport `json:"steps"`
	// BackupID is the change set holding this run's backups ("" if none).
	BackupID string `json:"backup_id,omitempty"`
	// Resumed lists the steps that waited for a reboot that has now happened.
	Resumed []string `json:"resumed,omitempty"`
	// Finished lists the steps an interrupted run left unfinished whose
	// owed work (commands, a reboot) this run finished or recorded; in a
	// dry run, the steps that wait for it.
	Finished []string `json:"finished,omitempty"`
	// Removed lists the temporary files an interrupted run left, removed
	// by this run.
	Removed []string `json:"removed,omitempty"`
}

// Failed reports whether a step failed.
func (r *Report) Failed() bool {
	for _, s := range r.Steps {
		if s.Status == StatusFailed {
			return true
		}
	}
	return false
}

// Options steer a run.
type Options struct {
	DryRun bool
	// Confirm is asked once, after the plan is shown and before anything is
	// applied, when there is something to apply. Nil applies without asking.
	Confirm func(*Report) (bool, error)
	// ShowPlan is called with the plan before applying (text output).
	ShowPlan func(*Report)
	// Who names this run in the lock file.
	Who string
}

// ErrMissingTool is returned, before anything is applied, when a planned
// step would run a tool the root does not have.
var ErrMissingTool = errors.New("a tool the plan runs is not installed")

// Tools are the commands a plan runs: its Tools, and the program of each
// command or unit change.
func (p *Plan) tools() []string {
	out := append([]string(nil), p.Tools...)
	for _, c := range p.Changes {
		if c = typed(c); len(c.Argv) > 0 {
			out = append(out, c.Argv[0])
		}
	}
	return out
}

// checkTools finds, inside the root, every tool the planned steps would
// run: one missing fails the plan, so that no step is applied and then the
// next one fails on it (a grub step that edited /etc/default/grub and then
// found no grub2-mkconfig).
func checkTools(env *Env, selected []Step, plans []*Plan, rep *Report) error {
	if env.Run == nil {
		return nil
	}
	var missing []string
	for i, s := range selected {
		if rep.Steps[i].Status != StatusPlanned {
			continue
		}
		seen := map[string]bool{}
		for _, t := range plans[i].tools() {
			if seen[t] {
				continue
			}
			seen[t] = true
			if _, err := env.Run.LookPath(t); err != nil {
				missing = append(missing, fmt.Sprintf("%s runs %s: %v", s.Name(), t, err))
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s; install it (or leave the step out with --skip), then run setup again",
			ErrMissingTool, strings.Join(missing, "; "))
	}
	return nil
}

// ErrDeclined is returned when the user answers no.
var ErrDeclined = errors.New("nothing changed: the plan was declined")

// Run plans every selected step, shows the plan and, unless a dry run,
// applies it step by step. all is every registered step (asked for kernel
// arguments); selected is what --only/--skip left.
//
// Any Check error stops the run before anything is applied: the host stays as
// it was. An Apply or Verify error fails that step and skips the rest; the
// files already replaced stay restorable with `photonctl rollback --id`.
func Run(ctx context.Context, env *Env, all, selected []Step, opt Options) (*Report, error) {
	env.DryRun = opt.DryRun
	rep := &Report{Schema: Schema, DryRun: opt.DryRun, Steps: []StepReport{}}

	state, err := LoadState(env.Host)
	if err != nil {
		return nil, err
	}
	if state.Rebooted(env.Host) {
		rep.Resumed = state.PendingReboot
	}
	pendingBefore := len(state.PendingReboot) > 0 && !state.Rebooted(env.Host)
	for _, u := range state.Unfinished {
		rep.Finished = append(rep.Finished, u.Step)
	}

	env.KernelArgs = KernelArgs{}
	for _, s := range all {
		if ka, ok := s.(KernelArgser); ok {
			args, err := ka.KernelArgs(ctx, env)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", s.Name(), err)
			}
			if len(args) > 0 {
				env.KernelArgs[s.Name()] = args
			}
		}
	}

	// Plan everything first: a Check error means nothing is applied.
	plans := make([]*Plan, len(selected))
	rebootAhead := pendingBefore || state.owesReboot()
	for i, s := range selected {
		p, err := s.Check(ctx, env)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.Name(), err)
		}
		plans[i] = p
		sr := StepReport{Name: s.Name(), Changes: nonNil(p.Changes), Message: p.Message, Hint: p.Hint}
		switch {
		case p.Skip != "":
			sr.Status, sr.Message = StatusSkipped, p.Skip
		case waits(s) && rebootAhead:
			sr.Status, sr.Message = StatusSkipped, "waits for the reboot: "+orDefault(p.Message, "reboot first")
		case p.Blocked != nil:
			return nil, fmt.Errorf("%s: %w", s.Name(), p.Blocked)
		case !p.Done():
			sr.Status = StatusPlanned
			if p.RebootPending {
				rebootAhead = true
			}
		case p.RebootPending:
			sr.Status = StatusReboot
			rebootAhead = true
		default:
			sr.Status = StatusOK
		}
		rep.Steps = append(rep.Steps, sr)
	}
	if err := checkTools(env, selected, plans, rep); err != nil {
		return nil, err
	}
	if opt.DryRun {
		rep.RebootRequired = rebootAhead
		return rep, nil
	}
	if opt.ShowPlan != nil {
		opt.ShowPlan(rep)
	}
	if opt.Confirm != nil && hasPlanned(rep) {
		ok, err := opt.Confirm(rep)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, ErrDeclined
		}
	}

	// The lock is taken only now, so that a plan that fails leaves not even
	// a lock file behind; every step is checked again under it below.
	lock, err := Acquire(env.Host, opt.Who)
	if err != nil {
		return nil, err
	}
	defer lock.Release()

	if env.Txn == nil {
		env.Txn = env.Host.Begin("", "photonctl setup")
	}
	h := env.Host
	// Under the lock: remove what an interrupted run left behind, and
	// finish the step it was applying.
	if rep.Removed, err = h.Sweep(); err != nil {
		return nil, fmt.Errorf("removing the temporary files an interrupted run left: %w", err)
	}
	if state, err = LoadState(h); err != nil {
		return nil, err
	}
	pendingBefore = len(state.PendingReboot) > 0 && !state.Rebooted(h)
	rebootNow := pendingBefore
	bootID := BootID(h)
	if pendingBefore {
		bootID = state.BootID
	}
	var pending []string
	if pendingBefore {
		pending = append(pending, state.PendingReboot...)
	}
	// owing is every step in progress or left unfinished, by name: an
	// interrupted run's, and this run's.
	owing := map[string]*Unfinished{}
	for _, u := range state.Unfinished {
		owing[u.Step] = u
	}
	// save writes the state: the pending reboots, and the steps that owe.
	save := func() error {
		var us []*Unfinished
		for _, u := range owing {
			us = append(us, u)
		}
		sort.Slice(us, func(i, j int) bool { return stepIndex(us[i].Step) < stepIndex(us[j].Step) })
		if len(pending) == 0 && len(us) == 0 {
			return removeState(h)
		}
		s := State{PendingReboot: pending, Unfinished: us}
		if len(pending) > 0 {
			s.BootID = bootID
		}
		if err := saveState(h, s); err != nil {
			return fmt.Errorf("recording the state in %s: %w", StatePath, err)
		}
		return nil
	}
	// finishOwed does what an unfinished step owes, once its files hold.
	finishOwed := func(u *Unfinished) error {
		if err := finish(ctx, env, u); err != nil {
			return err
		}
		if u.Reboot {
			pending = appendOnce(pending, u.Step)
			rebootNow = true
		}
		delete(owing, u.Step)
		rep.Finished = append(rep.Finished, u.Step)
		return save()
	}
	rep.Finished = nil
	// A step this run does not select is finished first, as well as can be.
	for _, u := range state.Unfinished {
		in := false
		for _, s := range selected {
			in = in || s.Name() == u.Step
		}
		if !in {
			if err := finishOwed(u); err != nil {
				return nil, err
			}
		}
	}
	failed := false
	for i, s := range selected {
		sr := &rep.Steps[i]
		if sr.Status == StatusSkipped && plans[i].Skip != "" {
			continue
		}
		if failed {
			sr.Status, sr.Message = StatusSkipped, "not run: an earlier step failed"
			continue
		}
		if waits(s) && rebootNow {
			sr.Status, sr.Message = StatusSkipped, "waits for the reboot; run photonctl setup again after it"
			continue
		}
		// Plan again: an earlier step may have changed what this one sees.
		p, err := s.Check(ctx, env)
		if err != nil {
			sr.Status, sr.Message, failed = StatusFailed, err.Error(), true
			continue
		}
		sr.Changes, sr.Message = nonNil(p.Changes), p.Message
		if p.Skip != "" {
			sr.Status, sr.Message = StatusSkipped, p.Skip
			continue
		}
		prev := owing[s.Name()]
		if p.Done() {
			// An interrupted run wrote this step's files: what it owes
			// besides (the initramfs, the reboot) is done now.
			if prev != nil {
				if err := finishOwed(prev); err != nil {
					sr.Status, sr.Message, failed = StatusFailed, err.Error(), true
					continue
				}
			}
			sr.Status = StatusOK
			if p.RebootPending {
				sr.Status, rebootNow = StatusReboot, true
				pending = appendOnce(pending, s.Name())
			}
			continue
		}
		// Write-ahead: the state says what this step will owe before it
		// changes anything; it is cleared once the step is done.
		owed := Owed{Reboot: p.RebootPending}
		if o, ok := s.(Ower); ok {
			owed = o.Owes(env, p)
			owed.Reboot = owed.Reboot || p.RebootPending
		}
		u := &Unfinished{Step: s.Name(), BackupID: env.Txn.ID(), Since: time.Now().UTC(), Owed: owed}
		if prev != nil {
			// What the interrupted run owed is owed still.
			u.Reboot = u.Reboot || prev.Reboot
		}
		owing[s.Name()] = u
		if err := save(); err != nil {
			sr.Status, sr.Message, failed = StatusFailed, err.Error()+"; nothing of this step was applied", true
			continue
		}
		// The change set records the commands first too: a rollback of a
		// run stopped anywhere in the step undoes and regenerates.
		if err := owe(env.Txn, owed); err != nil {
			sr.Status, sr.Message, failed = StatusFailed, err.Error()+"; nothing of this step was applied", true
			continue
		}
		env.Progressf("%s: applying %d change(s)", s.Name(), len(p.Changes))
		before := env.Txn.Count()
		reboot, err := s.Apply(ctx, env, p)
		if err != nil {
			sr.Status, sr.Message, failed = StatusFailed, err.Error(), true
			if env.Txn.Count() == before {
				// Nothing changed: nothing more is owed than before.
				if prev != nil {
					owing[s.Name()] = prev
				} else {
					delete(owing, s.Name())
				}
				if serr := save(); serr != nil {
					sr.Message += "; " + serr.Error()
				}
			}
			// Else the state keeps what the step owes: the next run
			// finishes it.
			continue
		}
		if reboot || p.RebootPending || u.Reboot && prev != nil {
			rebootNow = true
			pending = appendOnce(pending, s.Name())
		}
		delete(owing, s.Name())
		if prev != nil {
			rep.Finished = append(rep.Finished, s.Name())
		}
		if err := save(); err != nil {
			sr.Status, sr.Message, failed = StatusFailed, err.Error(), true
			continue
		}
		if err := s.Verify(ctx, env); err != nil {
			sr.Status, sr.Message, failed = StatusFailed, "applied, but verification failed: "+err.Error(), true
			continue
		}
		sr.Status = StatusChanged
		if after, err := s.Check(ctx, env); err == nil && after.Message != "" {
			sr.Message = after.Message // what holds now
		}
		if reboot || p.RebootPending {
			sr.Status = StatusReboot
		}
	}
	if env.Txn.Recorded() {
		rep.BackupID = env.Txn.ID()
	}
	rep.RebootRequired = rebootNow
	if err := save(); err != nil && !failed {
		return rep, err
	}
	if !failed {
		if err := saveApplied(env.Host, env.Spec); err != nil {
			return rep, fmt.Errorf("recording the applied spec in %s: %w", AppliedPath, err)
		}
	}
	return rep, nil
}

// owe records in the change set what a step will rewrite and run.
func owe(t *host.Txn, o Owed) error {
	for _, p := range o.Keep {
		if err := t.Keep(p); err != nil {
			return err
		}
	}
	for _, p := range o.Links {
		if err := t.KeepLink(p); err != nil {
			return err
		}
	}
	for _, c := range o.Run {
		if err := t.Command(c.Argv, c.Undo, c.Redo); err != nil {
			return err
		}
	}
	return nil
}

// finish does what an interrupted step owes: it backs up what the commands
// rewrite, runs them, recorded in this run's change set.
func finish(ctx context.Context, env *Env, u *Unfinished) error {
	if err := owe(env.Txn, u.Owed); err != nil {
		return err
	}
	for _, c := range u.Run {
		env.Progressf("%s: finishing the interrupted run: %s", u.Step, runner.Quote(c.Argv))
		if err := env.Txn.Command(c.Argv, c.Undo, c.Redo); err != nil {
			return err
		}
		if _, err := env.Run.Run(ctx, c.Argv...); err != nil {
			return fmt.Errorf("finishing step %s, which a run stopped on %s left unfinished: %w; "+
				"fix that and run setup again (it tries again; %s says what is owed)", u.Step, u.Since.Format(time.RFC3339), err, StatePath)
		}
	}
	return nil
}

func waits(s Step) bool {
	w, ok := s.(RebootWaiter)
	return ok && w.WaitsForReboot()
}

func hasPlanned(r *Report) bool {
	for _, s := range r.Steps {
		if s.Status == StatusPlanned {
			return true
		}
	}
	return false
}

// nonNil is the changes for the report: never null in JSON, every one typed.
func nonNil(c []Change) []Change {
	out := make([]Change, len(c))
	for i, x := range c {
		out[i] = typed(x)
	}
	return out
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func appendOnce(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// Who describes this process for the lock file.
func Who() string {
	return "photonctl " + strings.Join(os.Args[1:], " ")
}
