package grub

import (
	"context"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/runner/runnertest"
	"github.com/photonctl/photonctl/pkg/spec"
)

// argsStep stands for a later step wanting kernel arguments (1G hugepages).
type argsStep struct{ args []string }

func (argsStep) Name() string { return engine.StepHugepages }
func (argsStep) Check(context.Context, *engine.Env) (*engine.Plan, error) {
	return &engine.Plan{Skip: "not asked for (test)"}, nil
}
func (argsStep) Apply(context.Context, *engine.Env, *engine.Plan) (bool, error) { return false, nil }
func (argsStep) Verify(context.Context, *engine.Env) error                      { return nil }
func (s argsStep) KernelArgs(context.Context, *engine.Env) ([]string, error) {
	return s.args, nil
}

// TestSetupEndToEnd drives the engine on the CentOS 7 fixture: dry run,
// apply (reboot-required), second run (nothing changes), reboot (ok), and
// rollback restoring the files.
func TestSetupEndToEnd(t *testing.T) {
	h := fixture.Host(t, "grub-centos7")
	origDefault := readFile(t, h, DefaultGrub)
	origCfg := readFile(t, h, "/boot/grub2/grub.cfg")
	f := runnertest.New(t)
	f.Expect(runnertest.Call{Argv: []string{"grub2-mkconfig", "-o", "/boot/grub2/grub.cfg"}, Do: fakeMkconfig(t, h, "/boot/grub2/grub.cfg", "linux16")})
	all := []engine.Step{NewStep(), argsStep{[]string{"default_hugepagesz=1G", "hugepagesz=1G", "hugepages=8"}}}
	run := func(dry bool) *engine.Report {
		t.Helper()
		env := newEnv(h, f, func(s *spec.Spec) { s.PCIRealloc = true })
		rep, err := engine.Run(context.Background(), env, all, all[:1], engine.Options{DryRun: dry, Who: "test"})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	wantLine := `GRUB_CMDLINE_LINUX="crashkernel=auto rd.lvm.lv=centos/root rd.lvm.lv=centos/swap rhgb quiet intel_iommu=on iommu=pt pci=realloc default_hugepagesz=1G hugepagesz=1G hugepages=8"`

	// Dry run: the exact line before and after, nothing written.
	rep := run(true)
	s := rep.Steps[0]
	if s.Status != engine.StatusPlanned || len(s.Changes) != 2 || s.Changes[0].String() != "/etc/default/grub:6" ||
		s.Changes[0].Before != `GRUB_CMDLINE_LINUX="crashkernel=auto rd.lvm.lv=centos/root rd.lvm.lv=centos/swap rhgb quiet"` ||
		s.Changes[0].After != wantLine || s.Changes[1].String() != "run: grub2-mkconfig -o /boot/grub2/grub.cfg" {
		t.Fatalf("dry run: %+v", s)
	}
	if readFile(t, h, DefaultGrub) != origDefault {
		t.Fatal("the dry run wrote /etc/default/grub")
	}

	rep = run(false)
	if s := rep.Steps[0]; s.Status != engine.StatusReboot || !rep.RebootRequired || rep.BackupID == "" {
		t.Fatalf("first run: %+v, reboot %v, backup %q", s, rep.RebootRequired, rep.BackupID)
	}
	backup := rep.BackupID
	if !strings.Contains(readFile(t, h, DefaultGrub), wantLine+"\n") {
		t.Fatalf("/etc/default/grub:\n%s", readFile(t, h, DefaultGrub))
	}
	got := strings.Join(shValue(t, h, CmdlineVar), " ")
	if got != strings.TrimSuffix(strings.TrimPrefix(wantLine, `GRUB_CMDLINE_LINUX="`), `"`) {
		t.Errorf("/bin/sh reads %q", got)
	}

	// Before the reboot: still reboot-required, nothing changes.
	before := snapshot(t, h)
	rep = run(false)
	if s := rep.Steps[0]; s.Status != engine.StatusReboot || len(s.Changes) != 0 || rep.BackupID != "" {
		t.Fatalf("second run: %+v, backup %q", s, rep.BackupID)
	}
	after := snapshot(t, h)
	for p, st := range before {
		if after[p] != st {
			t.Errorf("second run touched %s", p)
		}
	}

	// The reboot: a new boot id and the arguments running.
	writeFile(t, h, "/proc/sys/kernel/random/boot_id", "0f0e0d0c-0b0a-4908-8706-050403020100\n")
	writeFile(t, h, ProcCmdline, "BOOT_IMAGE=/vmlinuz-3.10.0-1160.el7.x86_64 root=/dev/mapper/centos-root ro crashkernel=auto rd.lvm.lv=centos/root rd.lvm.lv=centos/swap rhgb quiet intel_iommu=on iommu=pt pci=realloc default_hugepagesz=1G hugepagesz=1G hugepages=8\n")
	rep = run(false)
	if s := rep.Steps[0]; s.Status != engine.StatusOK || rep.RebootRequired {
		t.Fatalf("after the reboot: %+v, reboot %v", s, rep.RebootRequired)
	}

	// Rollback puts back /etc/default/grub and the grub.cfg the tool wrote.
	if _, err := h.Rollback(backup); err != nil {
		t.Fatal(err)
	}
	if readFile(t, h, DefaultGrub) != origDefault || readFile(t, h, "/boot/grub2/grub.cfg") != origCfg {
		t.Error("rollback did not restore the files")
	}
}
