package grub

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/runner"
)

// Step is the grub step of photonctl setup.
type Step struct{}

// NewStep returns the grub step.
func NewStep() *Step { return &Step{} }

// Name is engine.StepGrub.
func (*Step) Name() string { return engine.StepGrub }

type fileWrite struct {
	path string
	data []byte
}

// planData is what Check found, for Apply.
type planData struct {
	flavour     *Flavour
	add, remove []string
	writes      []fileWrite
	keeps       []string // files a command rewrites, backed up first
	runs        [][]string
}

// HasBootSetup reports whether the root holds any boot loader setup at all;
// one without (a container, a root with no /boot) has no kernel command line
// to edit.
func HasBootSetup(h *host.Host) bool {
	for _, p := range []string{DefaultGrub, "/boot/grub2", "/boot/grub", "/boot/loader/entries", "/boot/efi/EFI", OstreeBooted} {
		if h.Exists(p) {
			return true
		}
	}
	return false
}

// Check works out the edits and commands for this host's boot setup.
func (s *Step) Check(ctx context.Context, env *engine.Env) (*engine.Plan, error) {
	h := env.Host
	if !HasBootSetup(h) {
		return &engine.Plan{Skip: "no boot loader under this root (no " + DefaultGrub + ", /boot/grub2, /boot/grub or /boot/loader: a container?)"}, nil
	}
	iommu := WantsIOMMU(env)
	if !iommu && !env.Spec.PCIRealloc && len(env.KernelArgs.All()) == 0 {
		return &engine.Plan{Skip: "not asked for (--vfs N, --bind-vfio, --iommu-args, --pci-realloc, 1G or per-node hugepages, or --only grub)", Hint: iommuHint(env)}, nil
	}
	add, remove, err := Wanted(h, env.Spec, iommu, env.KernelArgs)
	if err != nil {
		return nil, err
	}
	fl, err := Detect(h, env.Run)
	if err != nil {
		return nil, err
	}
	pd := &planData{flavour: fl, add: add, remove: remove}
	var changes []engine.Change
	if fl.EditsDefault {
		srcs, err := readSources(h, fl.Dropins)
		if host.IsNotExist(err) {
			return nil, engine.BadInput("%s is missing; a %s host needs it for grub2-mkconfig: restore it (from the grub2-tools or grub-common package) and run again", DefaultGrub, fl.Name)
		}
		if err != nil {
			return nil, fmt.Errorf("reading the GRUB defaults: %w", err)
		}
		e, err := EditArgs(srcs, CmdlineVar, add, remove)
		if err != nil {
			return nil, err
		}
		for _, fe := range e.Files {
			if err := writable(h, fe.Path); err != nil {
				return nil, err
			}
			pd.writes = append(pd.writes, fileWrite{fe.Path, fe.Data})
			changes = append(changes, engine.FileChange(fe.Path, fe.Line, fe.Before, fe.After))
		}
	}
	switch fl.Kind {
	case KindMkconfig:
		if len(pd.writes) > 0 || !grubCfgHolds(h, fl.GrubCfg, add, remove) {
			pd.keeps = append(pd.keeps, fl.GrubCfg)
			pd.runs = append(pd.runs, fl.Regen)
			changes = append(changes, engine.CommandChange(fl.Regen...))
		}
	case KindBLS:
		c, err := s.planBLS(h, pd)
		if err != nil {
			return nil, err
		}
		changes = append(changes, c...)
	case KindOstree:
		c, err := planOstree(ctx, env, pd)
		if err != nil {
			return nil, err
		}
		changes = append(changes, c...)
	}
	p := &engine.Plan{Changes: changes, Data: pd}
	running, err := ReadCmdline(h)
	if err != nil {
		return nil, fmt.Errorf("reading the running kernel's arguments: %w", err)
	}
	missing, unwanted := Missing(running, add, remove)
	p.RebootPending = len(missing)+len(unwanted) > 0
	msg := fmt.Sprintf("%s; wanted: %s", fl, strings.Join(add, " "))
	if len(remove) > 0 {
		msg += "; taken away: " + strings.Join(remove, " ")
	}
	if p.RebootPending {
		var lack []string
		if len(missing) > 0 {
			lack = append(lack, "lacks "+strings.Join(missing, " "))
		}
		if len(unwanted) > 0 {
			lack = append(lack, "still has "+strings.Join(unwanted, " "))
		}
		msg += "; the running kernel " + strings.Join(lack, " and ") + ": reboot"
	}
	p.Message = msg
	return p, nil
}

// iommuHint says, for a run that does not touch the kernel command line,
// whether the running kernel has the IOMMU arguments SR-IOV and vfio-pci
// need, and how to ask for them.
func iommuHint(env *engine.Env) string {
	add, remove, err := IOMMUArgs(env.Host, env.Spec)
	if err != nil {
		return "SR-IOV VFs and vfio-pci need the IOMMU on the kernel command line: --vfs N or --bind-vfio adds it (with --iommu-args for this CPU)"
	}
	running, err := ReadCmdline(env.Host)
	if err != nil {
		return fmt.Sprintf("SR-IOV VFs and vfio-pci need %s on the kernel command line: --vfs N or --bind-vfio adds them, --only grub adds them alone", strings.Join(add, " "))
	}
	if missing, unwanted := Missing(running, add, remove); len(missing)+len(unwanted) > 0 {
		var lack []string
		if len(missing) > 0 {
			lack = append(lack, "lacks "+strings.Join(missing, " "))
		}
		if len(unwanted) > 0 {
			lack = append(lack, "still has "+strings.Join(unwanted, " "))
		}
		return fmt.Sprintf("the running kernel %s for the IOMMU SR-IOV VFs and vfio-pci need: --vfs N or --bind-vfio fixes that, --only grub does it alone (then reboot)", strings.Join(lack, " and "))
	}
	return fmt.Sprintf("the running kernel has %s, the IOMMU arguments SR-IOV VFs and vfio-pci need", strings.Join(add, " "))
}

func (s *Step) planBLS(h *host.Host, pd *planData) ([]engine.Change, error) {
	fl := pd.flavour
	entries, err := h.Glob(BLSEntries)
	if err != nil || len(entries) == 0 {
		return nil, fmt.Errorf("%w: %s has GRUB_ENABLE_BLSCFG=true but no %s", ErrUnsupported, fl.Name, BLSEntries)
	}
	var genv *Grubenv
	var genvData []byte
	if fl.Grubenv != "" && h.Exists(fl.Grubenv) {
		if genvData, err = h.ReadFile(fl.Grubenv); err != nil {
			return nil, err
		}
		if genv, err = ParseGrubenv(genvData); err != nil {
			return nil, &Error{Path: fl.Grubenv, Msg: err.Error(), Err: ErrSyntax}
		}
	}
	need := false
	datas := map[string][]byte{}
	for _, e := range entries {
		b, err := h.ReadFile(e)
		if err != nil {
			return nil, err
		}
		datas[e] = b
		opts, _ := BLSOptions(b)
		if len(missingOf(BLSExpand(opts, genv), pd.add, pd.remove)) > 0 {
			need = true
		}
	}
	if !need {
		return nil, nil
	}
	if fl.Grubby {
		argv := []string{"grubby", "--update-kernel=ALL"}
		if len(pd.add) > 0 {
			argv = append(argv, "--args="+strings.Join(pd.add, " "))
		}
		if len(pd.remove) > 0 {
			argv = append(argv, "--remove-args="+strings.Join(pd.remove, " "))
		}
		pd.keeps = append(pd.keeps, entries...)
		if genv != nil {
			pd.keeps = append(pd.keeps, fl.Grubenv)
		}
		pd.runs = append(pd.runs, argv)
		return []engine.Change{engine.CommandChange(argv...)}, nil
	}
	var changes []engine.Change
	kernelopts := false
	for _, e := range entries {
		out, changed := EditBLSEntry(datas[e], pd.add, pd.remove)
		opts, _ := BLSOptions(datas[e])
		kernelopts = kernelopts || usesKernelopts(opts)
		if !changed {
			continue
		}
		if err := writable(h, e); err != nil {
			return nil, err
		}
		nopts, _ := BLSOptions(out)
		pd.writes = append(pd.writes, fileWrite{e, out})
		changes = append(changes, engine.FileChange(e, 0, "options "+strings.Join(opts, " "), "options "+strings.Join(nopts, " ")))
	}
	if kernelopts {
		if genv == nil {
			return nil, fmt.Errorf("%w: the boot entries take $kernelopts, but %s is missing or unreadable; recreate it with grub2-mkconfig", ErrUnsupported, fl.Grubenv)
		}
		old, _ := genv.Get("kernelopts")
		next := strings.Join(ApplyArgs(strings.Fields(old), pd.add, pd.remove), " ")
		if next != strings.Join(strings.Fields(old), " ") {
			genv.Set("kernelopts", next)
			data, err := genv.Render()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", fl.Grubenv, err)
			}
			if err := writable(h, fl.Grubenv); err != nil {
				return nil, err
			}
			pd.writes = append(pd.writes, fileWrite{fl.Grubenv, data})
			changes = append(changes, engine.FileChange(fl.Grubenv, 0, "kernelopts="+old, "kernelopts="+next))
		}
	}
	return changes, nil
}

func missingOf(tokens, add, remove []string) []string {
	m, u := Missing(tokens, add, remove)
	return append(m, u...)
}

func planOstree(ctx context.Context, env *engine.Env, pd *planData) ([]engine.Change, error) {
	out, err := env.Run.Run(ctx, "rpm-ostree", "kargs")
	if err != nil {
		return nil, fmt.Errorf("reading the kernel arguments of the rpm-ostree deployment: %w", err)
	}
	cur := strings.Fields(string(out))
	ops, app := planArgs(cur, pd.add, pd.remove)
	if len(ops) == 0 && len(app) == 0 {
		return nil, nil
	}
	argv := []string{"rpm-ostree", "kargs"}
	for _, o := range ops {
		argv = append(argv, "--delete="+cur[o.index])
	}
	for _, o := range ops {
		if o.kind == opReplace {
			argv = append(argv, "--append="+o.text)
		}
	}
	for _, a := range app {
		argv = append(argv, "--append="+a)
	}
	pd.runs = append(pd.runs, argv)
	return []engine.Change{{Kind: engine.KindCommand, Argv: argv, Before: strings.Join(cur, " "), After: strings.Join(ApplyArgs(cur, pd.add, pd.remove), " ")}}, nil
}

// grubCfgHolds reports whether every kernel line of a generated grub.cfg
// has the arguments (a missing or kernel-less file does not).
func grubCfgHolds(h *host.Host, path string, add, remove []string) bool {
	b, err := h.ReadFile(path)
	if err != nil {
		return false
	}
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 || f[0] != "linux" && f[0] != "linux16" && f[0] != "linuxefi" {
			continue
		}
		if !strings.HasPrefix(filepath.Base(f[1]), "vmlinuz") {
			continue // memtest86+ and other non-Linux images take no arguments
		}
		n++
		if len(missingOf(f[2:], add, remove)) > 0 {
			return false
		}
	}
	return n > 0
}

// writable refuses, before anything is written, a file that cannot be
// replaced.
func writable(h *host.Host, p string) error {
	for _, x := range []string{p, filepath.Dir(p)} {
		err := unix.Access(h.Path(x), unix.W_OK)
		if err == nil || errors.Is(err, unix.ENOENT) && x == p {
			continue
		}
		return engine.BadInput("%s cannot be written (%v); make it writable (a read-only mount? chattr +i? not root?) and run again; nothing was changed", x, err)
	}
	return nil
}

// Apply writes the files and runs the commands Check planned.
func (s *Step) Apply(ctx context.Context, env *engine.Env, p *engine.Plan) (bool, error) {
	pd, ok := p.Data.(*planData)
	if !ok {
		return false, errors.New("grub: apply without a plan from check")
	}
	// What the commands rewrite is backed up first: a run stopped at any
	// point still has the originals in its change set.
	for _, k := range pd.keeps {
		if err := env.Txn.Keep(k); err != nil {
			return false, err
		}
	}
	for _, w := range pd.writes {
		if _, err := env.Txn.WriteFile(w.path, w.data, 0o644); err != nil {
			return false, err
		}
	}
	for _, c := range commands(pd) {
		env.Progressf("grub: running %s", runner.Quote(c.Argv))
		if err := env.Txn.Command(c.Argv, c.Undo, c.Redo); err != nil {
			return false, err
		}
		if _, err := env.Run.Run(ctx, c.Argv...); err != nil {
			return false, fmt.Errorf("regenerating the boot configuration (%s): %w; the edited files are restorable with photonctl rollback --id %s", pd.flavour.Name, err, env.Txn.ID())
		}
	}
	return p.RebootPending, nil
}

// Owes says what applying p leaves to do: the reboot, and the commands
// that regenerate the boot configuration, with the files they rewrite.
func (s *Step) Owes(env *engine.Env, p *engine.Plan) engine.Owed {
	pd, ok := p.Data.(*planData)
	if !ok {
		return engine.Owed{Reboot: true}
	}
	return engine.Owed{Reboot: true, Run: commands(pd), Keep: pd.keeps}
}

// commands are the plan's runs as a change set records them: what they
// rewrite is kept, so rollback restores it byte for byte and runs nothing
// again; rpm-ostree kargs is undone by the opposite kargs.
func commands(pd *planData) []host.Command {
	var out []host.Command
	for _, argv := range pd.runs {
		c := host.Command{Argv: argv}
		if len(argv) > 2 && argv[0] == "rpm-ostree" && argv[1] == "kargs" {
			c.Undo = []string{"rpm-ostree", "kargs"}
			for _, a := range argv[2:] {
				if v, ok := strings.CutPrefix(a, "--append="); ok {
					c.Undo = append(c.Undo, "--delete="+v)
				} else if v, ok := strings.CutPrefix(a, "--delete="); ok {
					c.Undo = append(c.Undo, "--append="+v)
				}
			}
		}
		out = append(out, c)
	}
	return out
}

// Verify checks that the boot configuration now holds the arguments.
func (s *Step) Verify(ctx context.Context, env *engine.Env) error {
	return engine.CheckHolds(ctx, env, s)
}
