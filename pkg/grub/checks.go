package grub

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/photonctl/photonctl/pkg/doctor"
	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/runner"
)

// MMIOMessage is what the kernel logs when it cannot place the VFs' BARs.
const MMIOMessage = "not enough MMIO resources for SR-IOV"

// Checks are the kernel group's doctor checks.
func Checks() []doctor.Check {
	return []doctor.Check{
		{ID: "kernel-iommu-args", Group: doctor.GroupKernel, Run: checkIOMMUArgs},
		{ID: "kernel-iommu-on", Group: doctor.GroupKernel, Run: checkIOMMUOn},
		{ID: "kernel-mmio", Group: doctor.GroupKernel, Run: checkMMIO},
		{ID: "kernel-cmdline-sync", Group: doctor.GroupKernel, Run: checkSync},
	}
}

func skipErr(what string, err error) []doctor.Result {
	why := err.Error()
	if host.IsPermission(err) {
		why = "not allowed (run as root): " + why
	}
	return []doctor.Result{{Status: doctor.Skip, Detail: fmt.Sprintf("cannot read %s: %s", what, why)}}
}

func checkIOMMUArgs(ctx context.Context, env *engine.Env) []doctor.Result {
	add, remove, err := IOMMUArgs(env.Host, env.Spec)
	if err != nil {
		return []doctor.Result{{Status: doctor.Skip, Detail: err.Error()}}
	}
	running, err := ReadCmdline(env.Host)
	if err != nil {
		return skipErr(ProcCmdline, err)
	}
	missing, unwanted := Missing(running, add, remove)
	next, nextErr := Configured(ctx, env)
	nextOK := nextErr == nil && len(missingOf(next, add, remove)) == 0
	where := "the boot configuration"
	var regen []string
	editedOK := false
	if fl, err := Detect(env.Host, env.Run); err == nil {
		if fl.Kind == KindMkconfig && fl.GrubCfg != "" {
			where = fl.GrubCfg
		}
		regen = fl.Regen
		if fl.EditsDefault {
			if e, err := edited(env.Host, fl); err == nil {
				editedOK = len(missingOf(e, add, remove)) == 0
			}
		}
		if fl.Kind == KindBLS {
			where = "the BLS entry (" + BLSEntries + ", with grubenv's kernelopts)"
			// The BLS entries are what boots: grubby writes the arguments
			// into them (and kernelopts).
			if m := missingOf(next, add, nil); fl.Grubby && len(m) > 0 {
				regen = []string{"grubby", "--update-kernel=ALL", "--args=" + strings.Join(m, " ")}
			}
		}
	}
	// What the boot loader reads lacks them while /etc/default/grub has
	// them: edited, not regenerated. A reboot alone does not help.
	stale := !nextOK && nextErr == nil && editedOK && regen != nil
	if len(missing)+len(unwanted) == 0 {
		if nextErr != nil || nextOK {
			return []doctor.Result{{Status: doctor.OK, Detail: "the running kernel has " + strings.Join(add, " ")}}
		}
		d := fmt.Sprintf("the running kernel has %s, but the next boot loses %s: %s lacks them",
			strings.Join(add, " "), strings.Join(missingOf(next, add, remove), " "), where)
		fix := "photonctl setup --only grub (it puts them back in " + DefaultGrub + " and regenerates " + where + ")"
		if stale {
			d += "; " + DefaultGrub + " has them, but " + where + " was not regenerated"
			fix = runner.Quote(regen)
		}
		return []doctor.Result{{Status: doctor.Fail, Detail: d, Fix: fix}}
	}
	d := "the running kernel (" + ProcCmdline + ")"
	if len(missing) > 0 {
		d += " lacks " + strings.Join(missing, " ")
	}
	if len(unwanted) > 0 {
		d += " has " + strings.Join(unwanted, " ")
	}
	fix := "photonctl setup --only grub, then reboot"
	switch {
	case nextOK:
		d += "; " + where + " has them already: a reboot is pending"
		fix = "reboot"
	case stale:
		d += "; " + DefaultGrub + " has them, but " + where + ", which the boot loader reads, does not: it was edited and not regenerated, so a reboot alone will not bring them"
		fix = runner.Quote(regen) + ", then reboot"
	}
	return []doctor.Result{{Status: doctor.Fail, Detail: d, Fix: fix}}
}

func checkIOMMUOn(ctx context.Context, env *engine.Env) []doctor.Result {
	h := env.Host
	units, err := h.Glob("/sys/class/iommu/*")
	if err != nil {
		return skipErr("/sys/class/iommu", err)
	}
	groups, err := h.ReadDir("/sys/kernel/iommu_groups")
	if err != nil && !host.IsNotExist(err) {
		return skipErr("/sys/kernel/iommu_groups", err)
	}
	fix := "turn on VT-d (Intel) or AMD-Vi/IOMMU in the firmware setup, then photonctl setup --only grub and reboot"
	switch {
	case len(units) == 0:
		return []doctor.Result{{Status: doctor.Fail, Detail: "no IOMMU is active: /sys/class/iommu is empty", Fix: fix}}
	case len(groups) == 0:
		return []doctor.Result{{Status: doctor.Fail, Detail: fmt.Sprintf("%d IOMMU unit(s) but no IOMMU groups in /sys/kernel/iommu_groups", len(units)), Fix: fix}}
	}
	return []doctor.Result{{Status: doctor.OK, Detail: fmt.Sprintf("IOMMU on: %d unit(s), %d group(s)", len(units), len(groups))}}
}

// KernelLog reads the kernel log: dmesg, or journalctl -k where dmesg is
// restricted (kernel.dmesg_restrict).
func KernelLog(ctx context.Context, r runner.Runner) (string, error) {
	out, err := r.Run(ctx, "dmesg")
	if err == nil {
		return string(out), nil
	}
	out2, err2 := r.Run(ctx, "journalctl", "-k", "-b", "--no-pager", "-q")
	if err2 == nil {
		return string(out2), nil
	}
	return "", fmt.Errorf("dmesg: %v; journalctl -k: %v", err, err2)
}

func checkMMIO(ctx context.Context, env *engine.Env) []doctor.Result {
	log, err := KernelLog(ctx, env.Run)
	if err != nil {
		return []doctor.Result{{Status: doctor.Skip, Detail: "cannot read the kernel log: " + err.Error()}}
	}
	var hits []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, MMIOMessage) {
			hits = append(hits, strings.TrimSpace(l))
		}
	}
	if len(hits) == 0 {
		return []doctor.Result{{Status: doctor.OK, Detail: "the kernel log has no \"" + MMIOMessage + "\""}}
	}
	running, _ := ReadCmdline(env.Host)
	d := fmt.Sprintf("the kernel log says %q (%d time(s))", hits[0], len(hits))
	for _, t := range running {
		if t == "pci=realloc" {
			return []doctor.Result{{Status: doctor.Fail, Detail: d + ", even with pci=realloc",
				Fix: "turn on SR-IOV and \"Above 4G decoding\" (MMIO above 4 GB) in the firmware setup, then reboot"}}
		}
	}
	return []doctor.Result{{Status: doctor.Fail, Detail: d, Fix: "photonctl setup --pci-realloc, then reboot"}}
}

// Configured is what the boot loader gives the next boot: the arguments of
// grub.cfg's entry for the running kernel (else its first Linux entry)
// where grub-mkconfig builds the entries, the default BLS entry's options
// with grubenv's $kernelopts, rpm-ostree's kargs. Only without a grub.cfg
// does it fall back to /etc/default/grub (Edited).
func Configured(ctx context.Context, env *engine.Env) ([]string, error) {
	h := env.Host
	fl, err := Detect(h, env.Run)
	if err != nil {
		return nil, err
	}
	if fl.Kind == KindMkconfig && fl.GrubCfg != "" {
		if b, err := h.ReadFile(fl.GrubCfg); err == nil {
			running, _ := ReadCmdline(h)
			if args, ok := GrubCfgArgs(b, running); ok {
				return args, nil
			}
		}
	}
	switch fl.Kind {
	case KindOstree:
		out, err := env.Run.Run(ctx, "rpm-ostree", "kargs")
		if err != nil {
			return nil, err
		}
		return strings.Fields(string(out)), nil
	case KindBLS:
		entries, err := h.Glob(BLSEntries)
		if err != nil || len(entries) == 0 {
			return nil, fmt.Errorf("no %s", BLSEntries)
		}
		var genv *Grubenv
		if fl.Grubenv != "" {
			if b, err := h.ReadFile(fl.Grubenv); err == nil {
				genv, _ = ParseGrubenv(b)
			}
		}
		// The entry of the running kernel, else the newest (last sorted).
		pick := entries[len(entries)-1]
		running, _ := ReadCmdline(h)
		boot := ""
		for _, r := range running {
			if v, ok := strings.CutPrefix(r, "BOOT_IMAGE="); ok {
				if i := strings.Index(v, ")"); strings.HasPrefix(v, "(") && i > 0 {
					v = v[i+1:] // (hd0,msdos1)/vmlinuz-...
				}
				boot = v
			}
		}
		for _, e := range entries {
			b, _ := h.ReadFile(e)
			for _, l := range strings.Split(string(b), "\n") {
				f := strings.Fields(l)
				if len(f) >= 2 && f[0] == "linux" && f[1] == boot {
					pick = e
				}
			}
		}
		b, err := h.ReadFile(pick)
		if err != nil {
			return nil, err
		}
		opts, _ := BLSOptions(b)
		return BLSExpand(opts, genv), nil
	}
	return edited(h, fl)
}

// GrubCfgArgs reads the kernel arguments of the grub.cfg entry that boots
// the running kernel (BOOT_IMAGE in running; the first entry for it, not
// a later recovery entry), else of the first Linux entry. Shell variables
// ($vt_handoff) are left out. ok is false when grub.cfg has no Linux entry.
func GrubCfgArgs(cfg []byte, running []string) (args []string, ok bool) {
	boot := ""
	for _, r := range running {
		if v, found := strings.CutPrefix(r, "BOOT_IMAGE="); found {
			if i := strings.Index(v, ")"); strings.HasPrefix(v, "(") && i > 0 {
				v = v[i+1:]
			}
			boot = filepath.Base(v)
		}
	}
	var first []string
	for _, l := range strings.Split(string(cfg), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 || f[0] != "linux" && f[0] != "linux16" && f[0] != "linuxefi" || !strings.HasPrefix(filepath.Base(f[1]), "vmlinuz") {
			continue
		}
		var a []string
		for _, x := range f[2:] {
			if !strings.HasPrefix(x, "$") {
				a = append(a, x)
			}
		}
		if boot != "" && filepath.Base(f[1]) == boot {
			return a, true
		}
		if !ok {
			first, ok = a, true
		}
	}
	return first, ok
}

// Edited is what the GRUB defaults say (GRUB_CMDLINE_LINUX and
// GRUB_CMDLINE_LINUX_DEFAULT, drop-ins included): what grub-mkconfig would
// put in grub.cfg the next time it runs.
func Edited(env *engine.Env) ([]string, error) {
	fl, err := Detect(env.Host, env.Run)
	if err != nil {
		return nil, err
	}
	return edited(env.Host, fl)
}

func edited(h *host.Host, fl *Flavour) ([]string, error) {
	srcs, err := readSources(h, fl.Dropins)
	if err != nil {
		return nil, err
	}
	a, _, _, err := Value(srcs, CmdlineVar)
	if err != nil {
		return nil, err
	}
	d, _, _, err := Value(srcs, CmdlineVar+"_DEFAULT")
	if err != nil && !errors.Is(err, ErrCannotEdit) {
		return nil, err
	}
	return append(a, d...), nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// bootKeys are put on the command line by the boot loader, not the config.
var bootKeys = map[string]bool{"BOOT_IMAGE": true, "root": true, "ro": true, "rw": true, "initrd": true, "rootflags": true, "rootfstype": true}

func checkSync(ctx context.Context, env *engine.Env) []doctor.Result {
	conf, err := Configured(ctx, env)
	if err != nil {
		return []doctor.Result{{Status: doctor.Skip, Detail: "cannot tell the configured kernel arguments: " + err.Error()}}
	}
	running, err := ReadCmdline(env.Host)
	if err != nil {
		return skipErr(ProcCmdline, err)
	}
	var pending, stale []string
	for _, c := range conf {
		if !contains(running, c) && !bootKeys[Key(c)] {
			pending = append(pending, c)
		}
	}
	for _, r := range running {
		if !contains(conf, r) && !bootKeys[Key(r)] {
			stale = append(stale, r)
		}
	}
	var out []doctor.Result
	if len(pending) > 0 {
		out = append(out, doctor.Result{Status: doctor.Warn,
			Detail: "configured but not running (reboot pending): " + strings.Join(pending, " "), Fix: "reboot"})
	}
	if len(stale) > 0 {
		out = append(out, doctor.Result{Status: doctor.Warn,
			Detail: "running but no longer configured (gone after the next boot): " + strings.Join(stale, " "),
			Fix:    "if they are still wanted, add them back: photonctl setup --only grub (or edit " + DefaultGrub + ")"})
	}
	if len(out) == 0 {
		out = append(out, doctor.Result{Status: doctor.OK, Detail: "the running kernel has the configured arguments"})
	}
	return out
}
