package grub

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/photonctl/photonctl/pkg/doctor"
	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/runner/runnertest"
)

func runCheck(t *testing.T, env *engine.Env, id string) []doctor.Result {
	t.Helper()
	for _, c := range Checks() {
		if c.ID == id {
			if c.Group != doctor.GroupKernel {
				t.Errorf("%s is in group %s", id, c.Group)
			}
			res := c.Run(context.Background(), env)
			for _, r := range res {
				if (r.Status == doctor.Warn || r.Status == doctor.Fail) && r.Fix == "" {
					t.Errorf("%s: %s without a fix", id, r.Status)
				}
			}
			return res
		}
	}
	t.Fatalf("no check %s", id)
	return nil
}

func one(t *testing.T, res []doctor.Result, status doctor.Status, detail, fix string) {
	t.Helper()
	if len(res) != 1 || res[0].Status != status || !strings.Contains(res[0].Detail, detail) || !strings.Contains(res[0].Fix, fix) {
		t.Errorf("got %+v, want one %s with %q, fix %q", res, status, detail, fix)
	}
}

func TestCheckIOMMUArgs(t *testing.T) {
	h := fixture.Host(t, "grub-centos7")
	f := runnertest.New(t)
	env := newEnv(h, f, nil)
	one(t, runCheck(t, env, "kernel-iommu-args"), doctor.Fail, "lacks intel_iommu=on iommu=pt", "photonctl setup --only grub")
	f.Expect(runnertest.Call{Argv: []string{"grub2-mkconfig", "-o", "/boot/grub2/grub.cfg"}, Do: fakeMkconfig(t, h, "/boot/grub2/grub.cfg", "linux16")})
	checkApply(t, env)
	one(t, runCheck(t, env, "kernel-iommu-args"), doctor.Fail, "a reboot is pending", "reboot")
	replaceIn(t, h, ProcCmdline, "quiet", "quiet intel_iommu=on iommu=pt")
	one(t, runCheck(t, env, "kernel-iommu-args"), doctor.OK, "intel_iommu=on iommu=pt", "")
	// iommu=ptx is not iommu=pt.
	replaceIn(t, h, ProcCmdline, "iommu=pt", "iommu=ptx")
	one(t, runCheck(t, env, "kernel-iommu-args"), doctor.Fail, "has iommu=ptx", "reboot")
}

func TestCheckIOMMUOn(t *testing.T) {
	h := fixture.Host(t, "grub-debian12")
	env := newEnv(h, runnertest.New(t), nil)
	one(t, runCheck(t, env, "kernel-iommu-on"), doctor.Fail, "/sys/class/iommu is empty", "firmware")
	os.MkdirAll(h.Path("/sys/class/iommu/ivhd0"), 0o755)
	one(t, runCheck(t, env, "kernel-iommu-on"), doctor.Fail, "no IOMMU groups", "firmware")
	os.MkdirAll(h.Path("/sys/kernel/iommu_groups/0/devices"), 0o755)
	os.MkdirAll(h.Path("/sys/kernel/iommu_groups/1/devices"), 0o755)
	one(t, runCheck(t, env, "kernel-iommu-on"), doctor.OK, "1 unit(s), 2 group(s)", "")
}

const mmioLog = `[    0.000000] Linux version 3.10.0-1160.el7.x86_64
[    2.514081] pci 0000:03:00.0: [15b3:1015] type 00 class 0x020000
[   12.118870] mlx5_core 0000:03:00.0: not enough MMIO resources for SR-IOV
[   12.118875] mlx5_core 0000:03:00.0: mlx5_sriov_enable:158:(pid 1012): pci_enable_sriov failed : -12
`

func TestCheckMMIO(t *testing.T) {
	h := fixture.Host(t, "grub-centos7")
	f := runnertest.New(t)
	f.Expect(runnertest.Call{Argv: []string{"dmesg"}, Output: mmioLog})
	env := newEnv(h, f, nil)
	one(t, runCheck(t, env, "kernel-mmio"), doctor.Fail, "not enough MMIO resources for SR-IOV", "photonctl setup --pci-realloc")

	// dmesg restricted: journalctl -k tells.
	f = runnertest.New(t)
	f.Expect(runnertest.Call{Argv: []string{"dmesg"}, Output: "dmesg: read kernel buffer failed: Operation not permitted\n", Err: syscall.EPERM, ExitCode: 1})
	f.Expect(runnertest.Call{Argv: []string{"journalctl", "-k", "-b", "--no-pager", "-q"}, Output: "Dec 01 kernel: mlx5_core 0000:03:00.0: not enough MMIO resources for SR-IOV\n"})
	replaceIn(t, h, ProcCmdline, "quiet", "quiet pci=realloc")
	one(t, runCheck(t, newEnv(h, f, nil), "kernel-mmio"), doctor.Fail, "even with pci=realloc", "Above 4G decoding")

	f = runnertest.New(t)
	f.Expect(runnertest.Call{Argv: []string{"dmesg"}, Output: "[    0.000000] Linux version 6.1.0\n"})
	one(t, runCheck(t, newEnv(h, f, nil), "kernel-mmio"), doctor.OK, "no \"not enough MMIO", "")

	f = runnertest.New(t)
	f.Expect(runnertest.Call{Argv: []string{"dmesg"}, Err: errors.New("exit status 1"), ExitCode: 1})
	f.Expect(runnertest.Call{Argv: []string{"journalctl", "-k", "-b", "--no-pager", "-q"}, Err: errors.New("exit status 1"), ExitCode: 1})
	one(t, runCheck(t, newEnv(h, f, nil), "kernel-mmio"), doctor.Skip, "cannot read the kernel log", "")
}

func TestCheckSync(t *testing.T) {
	h := fixture.Host(t, "grub-ubuntu2204")
	f := runnertest.New(t).Tools("update-grub")
	env := newEnv(h, f, nil)
	// The cloud drop-in's GRUB_CMDLINE_LINUX_DEFAULT is what runs.
	one(t, runCheck(t, env, "kernel-cmdline-sync"), doctor.OK, "has the configured arguments", "")
	f.Expect(runnertest.Call{Argv: []string{"update-grub"}, Do: fakeMkconfig(t, h, "/boot/grub/grub.cfg", "linux")})
	checkApply(t, env)
	one(t, runCheck(t, env, "kernel-cmdline-sync"), doctor.Warn, "configured but not running (reboot pending): intel_iommu=on iommu=pt", "reboot")
	replaceIn(t, h, ProcCmdline, " ro ", " ro intel_iommu=on iommu=pt nomodeset ")
	one(t, runCheck(t, env, "kernel-cmdline-sync"), doctor.Warn, "running but no longer configured (gone after the next boot): nomodeset", "photonctl setup --only grub")

	// BLS: the entry of the running kernel, with $kernelopts from grubenv.
	h = fixture.Host(t, "grub-rhel8")
	env = newEnv(h, runnertest.New(t), nil)
	one(t, runCheck(t, env, "kernel-cmdline-sync"), doctor.OK, "has the configured arguments", "")
	checkApply(t, env)
	one(t, runCheck(t, env, "kernel-cmdline-sync"), doctor.Warn, "reboot pending): intel_iommu=on iommu=pt", "reboot")
}

// Doctor reads what the boot loader reads next. /etc/default/grub edited
// but grub.cfg not regenerated is a failure whose fix is the regenerate
// command, never "reboot"; grub.cfg holding the arguments is a pending
// reboot; a running kernel whose next boot loses them fails too.
func TestCheckIOMMUArgsNextBoot(t *testing.T) {
	for _, fx := range []struct{ name, cfg, regen string }{
		{"grub-centos7", "/boot/grub2/grub.cfg", "grub2-mkconfig -o /boot/grub2/grub.cfg"},
		{"grub-debian12", "/boot/grub/grub.cfg", "update-grub"},
	} {
		t.Run(fx.name, func(t *testing.T) {
			h := fixture.Host(t, fx.name)
			f := runnertest.New(t).Tools(strings.Fields(fx.regen)[0])
			env := newEnv(h, f, nil)
			flags := map[string]string{"grub-centos7": "intel_iommu=on iommu=pt", "grub-debian12": "iommu=pt"}[fx.name]
			// Edited by hand, not regenerated.
			replaceIn(t, h, DefaultGrub, `GRUB_CMDLINE_LINUX="`, `GRUB_CMDLINE_LINUX="`+flags+" ")
			res := runCheck(t, env, "kernel-iommu-args")
			if len(res) != 1 || res[0].Status != doctor.Fail || !strings.Contains(res[0].Detail, "it was edited and not regenerated") ||
				res[0].Fix != fx.regen+", then reboot" {
				t.Fatalf("edited, not regenerated: %+v", res)
			}
			// Regenerated: a reboot is pending.
			fakeMkconfig(t, h, fx.cfg, "linux")()
			one(t, runCheck(t, env, "kernel-iommu-args"), doctor.Fail, fx.cfg+" has them already: a reboot is pending", "reboot")
			// Booted with them, then the defaults lost them and grub.cfg was
			// regenerated: the next boot loses them.
			replaceIn(t, h, ProcCmdline, " ro ", " ro "+flags+" ")
			one(t, runCheck(t, env, "kernel-iommu-args"), doctor.OK, "the running kernel has", "")
			replaceIn(t, h, DefaultGrub, `GRUB_CMDLINE_LINUX="`+flags+" ", `GRUB_CMDLINE_LINUX="`)
			fakeMkconfig(t, h, fx.cfg, "linux")()
			one(t, runCheck(t, env, "kernel-iommu-args"), doctor.Fail, "but the next boot loses", "photonctl setup --only grub")
			// ... or only grub.cfg lost them: regenerate.
			replaceIn(t, h, DefaultGrub, `GRUB_CMDLINE_LINUX="`, `GRUB_CMDLINE_LINUX="`+flags+" ")
			one(t, runCheck(t, env, "kernel-iommu-args"), doctor.Fail, "was not regenerated", fx.regen)
		})
	}
}

// On a BLS host the entries are what boots: /etc/default/grub edited, the
// entries not, is fixed with grubby writing the arguments into them.
func TestCheckIOMMUArgsBLSEditedNotRegenerated(t *testing.T) {
	h := fixture.Host(t, "grub-rhel9")
	env := newEnv(h, runnertest.New(t).Tools("grubby"), nil)
	replaceIn(t, h, DefaultGrub, `GRUB_CMDLINE_LINUX="`, `GRUB_CMDLINE_LINUX="intel_iommu=on iommu=pt `)
	res := runCheck(t, env, "kernel-iommu-args")
	if len(res) != 1 || res[0].Status != doctor.Fail || !strings.Contains(res[0].Detail, "it was edited and not regenerated") ||
		res[0].Fix != "grubby --update-kernel=ALL '--args=intel_iommu=on iommu=pt', then reboot" {
		t.Fatalf("%+v", res)
	}
}
