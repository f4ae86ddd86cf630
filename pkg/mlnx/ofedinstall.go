package mlnx

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/runner"
)

// OFEDInstallFlags are the mlnxofedinstall flags a DPDK host wants: build
// the modules for the running kernel, skip NVMe over fabrics, add DPDK's
// user-space parts.
var OFEDInstallFlags = []string{"--skip-distro-check", "--add-kernel-support", "--without-mlnx-nvme", "--dpdk"}

type ofedPlan struct {
	Dir       string
	Want      string // version from the folder name; "" unknown
	Before    string // installed version, "" none
	Installer []string
	Initramfs []string
}

func (o *ofedPlan) changes() []engine.Change {
	before := o.Before
	if before == "" {
		before = "not installed"
	}
	after := "MLNX_OFED from " + o.Dir
	if o.Want != "" {
		after = "MLNX_OFED_LINUX-" + o.Want
	}
	return []engine.Change{
		{Kind: engine.KindCommand, Argv: o.Installer, Before: before, After: after},
		{Kind: engine.KindCommand, Argv: o.Initramfs, Before: "initramfs without the OFED modules", After: "initramfs with them"},
	}
}

// installedOFED runs ofed_info -s; ok is false when OFED is not installed.
func installedOFED(ctx context.Context, env *engine.Env) (v OFEDVersion, ok bool, err error) {
	if _, err := env.Run.LookPath("ofed_info"); err != nil {
		return v, false, nil
	}
	out, err := env.Run.Run(ctx, "ofed_info", "-s")
	if err != nil {
		return v, false, fmt.Errorf("asking the installed OFED its version: %w", err)
	}
	v, err = ParseOFEDInfo(out)
	if err != nil {
		return v, false, err
	}
	return v, true, nil
}

// initramfsArgv regenerates the initramfs the distribution's way.
func initramfsArgv(env *engine.Env) []string {
	if env.Host.Exists("/etc/debian_version") {
		return []string{"update-initramfs", "-u"}
	}
	return []string{"dracut", "-f"}
}

func checkOFED(ctx context.Context, env *engine.Env) (*ofedPlan, string, error) {
	dir := env.Spec.OFEDDir
	if !strings.HasPrefix(dir, "/") {
		return nil, "", engine.BadInput("--ofed-dir %q: give the absolute path of the unpacked MLNX_OFED folder", dir)
	}
	dir = path.Clean(dir)
	inst := path.Join(dir, "mlnxofedinstall")
	if !env.Host.Exists(inst) {
		return nil, "", engine.BadInput("--ofed-dir %s: there is no mlnxofedinstall in it; unpack MLNX_OFED_LINUX-<version>-<distro>-x86_64.tgz and give the folder it makes", dir)
	}
	o := &ofedPlan{Dir: dir, Want: OFEDDirVersion(dir), Installer: append([]string{inst}, OFEDInstallFlags...), Initramfs: initramfsArgv(env)}
	v, ok, err := installedOFED(ctx, env)
	if err != nil {
		return nil, "", err
	}
	if ok {
		o.Before = v.String()
		if o.Want == "" || o.Want == v.Version {
			return nil, fmt.Sprintf("%s is installed", v), nil
		}
		return o, fmt.Sprintf("%s is installed; %s replaces it (reboot after)", v, o.changes()[0].After), nil
	}
	return o, fmt.Sprintf("MLNX_OFED is not installed; install it from %s (reboot after)", dir), nil
}

func (o *ofedPlan) apply(ctx context.Context, env *engine.Env) error {
	env.Progressf("mlnx: running %s (it builds kernel modules: this takes many minutes)", runner.Quote(o.Installer))
	if _, err := env.Run.Run(ctx, o.Installer...); err != nil {
		return fmt.Errorf("installing MLNX_OFED from %s: %w; its log is under /tmp/MLNX_OFED_LINUX*.logs", o.Dir, err)
	}
	if _, err := env.Run.Run(ctx, o.Initramfs...); err != nil {
		return fmt.Errorf("MLNX_OFED is installed but regenerating the initramfs failed: %w; run %s by hand before rebooting", err, runner.Quote(o.Initramfs))
	}
	return nil
}

func (o *ofedPlan) verify(ctx context.Context, env *engine.Env) error {
	v, ok, err := installedOFED(ctx, env)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s ran, but ofed_info is not there", o.Installer[0])
	}
	if o.Want != "" && v.Version != o.Want {
		return fmt.Errorf("%s ran, but ofed_info -s says %s, not %s", o.Installer[0], v, o.Want)
	}
	return nil
}
