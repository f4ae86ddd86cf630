package sriov

import (
	"context"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/spec"
)

// setup --vfs 4 on the ConnectX-4 Lx with SR-IOV on in its firmware: the
// engine plans, applies (0 then 4), verifies and installs the unit; the
// second run changes nothing and runs nothing (the strict runner would fail
// on any call).
func TestEngineSetupCX4(t *testing.T) {
	b := newBed(t, "sriov-cx4lx-on", func(s *spec.Spec) { s.VFs, s.PF = 4, "enp3s0f0" })
	b.expectEnable(t, "0000:03:00.0")
	s := b.k.step()
	steps := []engine.Step{s}
	rep, err := engine.Run(context.Background(), b.env, steps, steps, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Steps) != 1 || rep.Steps[0].Status != engine.StatusChanged || rep.RebootRequired {
		t.Fatalf("first run: %+v", rep)
	}
	if rep.BackupID == "" {
		t.Error("the unit went in without a change set")
	}
	attr := PCIDevices + "/0000:03:00.0/sriov_numvfs"
	if got := strings.Join(b.k.Writes(), " "); got != attr+"=0 "+attr+"=4" {
		t.Errorf("writes %s", got)
	}
	if !b.h.Exists(UnitPath("0000:03:00.0")) {
		t.Error("no unit")
	}

	b.env.Txn = nil
	rep, err = engine.Run(context.Background(), b.env, steps, steps, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Steps[0].Status != engine.StatusOK || len(rep.Steps[0].Changes) != 0 || rep.BackupID != "" {
		t.Errorf("second run: %+v", rep.Steps[0])
	}
	if len(b.k.Writes()) != 2 {
		t.Errorf("second run wrote: %q", b.k.Writes())
	}
}

// fwStep stands in for the mlnx step (another package): it plans a firmware
// change that needs a reboot.
type fwStep struct{ applied bool }

func (f *fwStep) Name() string { return engine.StepMlnx }
func (f *fwStep) Check(context.Context, *engine.Env) (*engine.Plan, error) {
	if f.applied {
		return &engine.Plan{RebootPending: true, Message: "NUM_OF_VFS=4 at the next boot"}, nil
	}
	return &engine.Plan{Changes: []engine.Change{{Path: "mlxconfig SRIOV_EN", Before: "0", After: "1"}}, RebootPending: true}, nil
}
func (f *fwStep) Apply(context.Context, *engine.Env, *engine.Plan) (bool, error) {
	f.applied = true
	return true, nil
}
func (f *fwStep) Verify(context.Context, *engine.Env) error { return nil }

// On the ConnectX with SR-IOV off, a firmware step that needs a reboot makes
// the sriov step wait: it is skipped, not failed, and writes nothing.
func TestEngineWaitsForFirmware(t *testing.T) {
	b := newBed(t, "sriov-cx4lx-off", func(s *spec.Spec) { s.VFs, s.PF = 4, "enp3s0f0" })
	steps := []engine.Step{&fwStep{}, b.k.step()}
	rep, err := engine.Run(context.Background(), b.env, steps, steps, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.RebootRequired || rep.Steps[0].Status != engine.StatusReboot || rep.Steps[1].Status != engine.StatusSkipped {
		t.Fatalf("%+v", rep)
	}
	if !strings.Contains(rep.Steps[1].Message, "reboot") {
		t.Errorf("message %q", rep.Steps[1].Message)
	}
	if len(b.k.Writes()) != 0 {
		t.Errorf("writes %q", b.k.Writes())
	}
}
