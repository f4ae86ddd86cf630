package udev

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/netconf"
)

// Step is the names step of photonctl setup.
type Step struct {
	// Getenv reads $SSH_CONNECTION; os.Getenv when nil.
	Getenv func(string) string
}

// New returns the names step.
func New() *Step { return &Step{} }

// Name is engine.StepNames.
func (s *Step) Name() string { return engine.StepNames }

func (s *Step) getenv(k string) string {
	if s.Getenv != nil {
		return s.Getenv(k)
	}
	return os.Getenv(k)
}

// Modes.
const (
	ModeKeep    = "keep"
	ModeScripts = "scripts"
	ModeNone    = "none"
)

// state is what Check found, handed to Apply.
type state struct {
	mode  string
	inv   *Inventory
	preds map[string]Prediction
	perr  map[string]error
	// keep
	rules []byte
	cmds  [][]string
	// scripts
	edits []fileEdit
}

// survey reads the inventory and predicts every NIC's name after the reboot.
func survey(env *engine.Env) (*state, error) {
	inv, err := Take(env.Host, env.Netlink())
	if err != nil {
		return nil, err
	}
	sortNICs(inv.NICs)
	st := &state{inv: inv, preds: map[string]Prediction{}, perr: map[string]error{}}
	pins, pinErr := readPins(env.Host)
	global := globalUncertainty(env.Host)
	physical := len(inv.NICs)
	for _, s := range inv.Skipped {
		if !strings.HasPrefix(s.Reason, "virtual") {
			physical++
		}
	}
	for _, n := range inv.NICs {
		in := ReadNameInput(env.Host, n, pins)
		switch {
		case in.Pinned != "":
		case pinErr != nil:
			st.perr[n.Name] = fmt.Errorf("%s: %w: %v", n.Name, ErrUnpredictable, pinErr)
			continue
		case global != "" && physical == 1 && n.Name == "eth0":
			// The kernel names the only NIC eth0, whatever the order.
			st.preds[n.Name] = Prediction{n.Name, "kernel naming, and the kernel names the only NIC eth0"}
			continue
		case global != "":
			st.perr[n.Name] = fmt.Errorf("%s: %w: %s", n.Name, ErrUnpredictable, global)
			continue
		}
		p, err := Predict(in)
		if err != nil {
			st.perr[n.Name] = err
			continue
		}
		st.preds[n.Name] = p
	}
	return st, nil
}

// readPins reads what names interfaces by MAC, in udev's order: on EL hosts
// with initscripts, 60-net.rules runs rename_device, which gives a NIC the
// DEVICE= of the ifcfg file whose HWADDR= is its MAC; then the rules of
// /etc/udev/rules.d.
func readPins(h *host.Host) ([]PinFile, error) {
	files, err := h.Glob("/etc/udev/rules.d/*.rules")
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	// Later non-final assignments win, so the list goes from the weakest:
	// netplan's set-name becomes a .link file, applied by 80-net-setup-link
	// only where no rule set NAME; rename_device runs in 60-net.rules; the
	// rules of /etc/udev/rules.d follow in their order.
	out := netplanPins(h)
	if pf := ifcfgPins(h); len(pf.Pins) > 0 {
		out = append(out, pf)
	}
	for _, p := range files {
		b, err := h.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
		f, err := Parse(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		out = append(out, PinFile{Path: p, Pins: Pins(f)})
	}
	return out, nil
}

// ifcfgPins are the names rename_device gives, where it is installed.
func ifcfgPins(h *host.Host) PinFile {
	pf := PinFile{Path: "ifcfg HWADDR= (60-net.rules, rename_device)"}
	if !h.Exists("/usr/lib/udev/rename_device") && !h.Exists("/lib/udev/rename_device") {
		return pf
	}
	files, _ := netconf.Find(h)
	for _, f := range files {
		if f.Format != netconf.Ifcfg {
			continue
		}
		refs, _ := netconf.Refs(f)
		for _, r := range refs {
			if r.Name != "" && r.MAC != "" {
				pf.Pins = append(pf.Pins, Pin{Name: r.Name, MAC: r.MAC})
			}
		}
	}
	return pf
}

// netplanPins are the set-name: of netplan ethernets matched by MAC.
func netplanPins(h *host.Host) []PinFile {
	files, _ := netconf.Find(h)
	var out []PinFile
	for _, f := range files {
		if f.Format != netconf.Netplan {
			continue
		}
		refs, err := netconf.Refs(f)
		if err != nil {
			continue
		}
		pf := PinFile{Path: f.Path + " (set-name)"}
		for _, r := range refs {
			if r.Renames {
				pf.Pins = append(pf.Pins, Pin{Name: r.Name, MAC: r.MAC})
			}
		}
		if len(pf.Pins) > 0 {
			out = append(out, pf)
		}
	}
	return out
}

// globalUncertainty says why no name on this host can be predicted from
// the PCI topology, or "".
func globalUncertainty(h *host.Host) string {
	switch {
	case !udevNames(h):
		return "no udev rule renames interfaces (80-net-setup-link.rules, 80-net-name-slot.rules): names follow the kernel's probe order"
	case cmdlineHas(h, "net.ifnames=0"):
		return "net.ifnames=0 is on the running kernel's command line: names follow the kernel's probe order"
	case grubHas(h, "net.ifnames=0"):
		return "net.ifnames=0 is in /etc/default/grub: after the reboot names follow the kernel's probe order"
	}
	if !cmdlineHas(h, "biosdevname=0") && (h.Exists("/usr/sbin/biosdevname") || h.Exists("/sbin/biosdevname")) {
		if v, err := h.ReadString("/sys/class/dmi/id/sys_vendor"); err == nil && strings.HasPrefix(v, "Dell") {
			return "biosdevname is installed on a Dell host and names the NICs (em1, p1p1) its own way"
		}
	}
	if links, _ := h.Glob("/etc/systemd/network/*.link"); len(links) > 0 {
		return fmt.Sprintf("%s may name interfaces (systemd .link files are not evaluated by photonctl)", strings.Join(links, ", "))
	}
	return ""
}

// udevNames reports whether udev's predictable naming is installed and not
// masked: systemd's 80-net-setup-link.rules, or EL7's 80-net-name-slot.rules.
// A file of that name in /etc/udev/rules.d overrides it; linked to /dev/null
// or empty, it turns the naming off.
func udevNames(h *host.Host) bool {
	found := false
	for _, name := range []string{"80-net-setup-link.rules", "80-net-name-slot.rules"} {
		if t, err := h.ReadLink("/etc/udev/rules.d/" + name); err == nil && t == "/dev/null" {
			continue
		}
		if b, err := h.ReadFile("/etc/udev/rules.d/" + name); err == nil {
			if len(strings.TrimSpace(string(b))) == 0 {
				continue
			}
			found = true
		}
		for _, dir := range []string{"/usr/lib/udev/rules.d/", "/lib/udev/rules.d/"} {
			if h.Exists(dir + name) {
				found = true
			}
		}
	}
	return found
}

// sortNICs orders NICs by name, numbers compared as numbers (eth2 < eth10).
func sortNICs(n []NIC) {
	sort.SliceStable(n, func(i, j int) bool { return natLess(n[i].Name, n[j].Name) })
}

func natLess(a, b string) bool {
	pa, na := splitNum(a)
	pb, nb := splitNum(b)
	if pa != pb || na < 0 || nb < 0 {
		if pa == pb {
			return a < b
		}
		return pa < pb
	}
	return na < nb
}

func splitNum(s string) (string, int) {
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	if i == len(s) {
		return s, -1
	}
	n, err := strconv.Atoi(s[i:])
	if err != nil {
		return s, -1
	}
	return s[:i], n
}

// resolveMode turns spec.Names into the mode to run: "" means keep where
// names would change and none where they would not.
func (st *state) resolveMode(asked string) (mode, why string) {
	if asked != "" {
		return asked, ""
	}
	var change []string
	for _, n := range st.inv.NICs {
		if err, ok := st.perr[n.Name]; ok {
			change = append(change, fmt.Sprintf("%s may be renamed (%v)", n.Name, errors.Unwrap(err)))
			continue
		}
		if p := st.preds[n.Name]; p.Name != n.Name {
			change = append(change, fmt.Sprintf("%s would become %s", n.Name, p.Name))
		}
	}
	if len(change) == 0 {
		return ModeNone, "names will not change after the reboot"
	}
	return ModeKeep, strings.Join(change, "; ")
}

// KernelArgs asks the grub step for net.ifnames=0 when keep mode pins kernel
// names (ethN): with predictable naming on, udev would try to rename them
// first. Errors are left to Check, which reports them with their context.
func (s *Step) KernelArgs(ctx context.Context, env *engine.Env) ([]string, error) {
	if !asked(env) || env.Spec.Names == ModeScripts {
		return nil, nil
	}
	st, err := survey(env)
	if err != nil {
		return nil, nil
	}
	if mode, _ := st.resolveMode(env.Spec.Names); mode != ModeKeep {
		return nil, nil
	}
	for _, n := range st.inv.NICs {
		if kernelName(n.Name) {
			return []string{"net.ifnames=0"}, nil
		}
	}
	return nil, nil
}

// asked reports whether the names step is asked for: --names keep or
// --names scripts, or --only names (which then picks the mode: keep where
// names would change). It writes udev rules or network configuration, so it
// never runs unasked.
func asked(env *engine.Env) bool {
	switch env.Spec.Names {
	case ModeKeep, ModeScripts:
		return true
	case "":
		return env.Named(engine.StepNames)
	}
	return false
}

// hint says, for a run that did not ask for the names step, whether names
// would change after a reboot and how to keep the host reachable.
func hint(env *engine.Env) string {
	st, err := survey(env)
	if err != nil {
		return "--names keep pins today's interface names with udev rules; --names scripts rewrites the network configuration to the names after the reboot"
	}
	mode, why := st.resolveMode("")
	if mode == ModeNone {
		return why + "; nothing to do"
	}
	return "after a reboot " + why + ": pass --names keep to pin today's names (udev rules), or --names scripts to move the network configuration to the new names"
}

// Check plans the names step.
func (s *Step) Check(ctx context.Context, env *engine.Env) (*engine.Plan, error) {
	if env.Spec.Names == ModeNone {
		return &engine.Plan{Skip: "not asked for (--names none)"}, nil
	}
	if !asked(env) {
		return &engine.Plan{Skip: "not asked for (--names keep or --names scripts)", Hint: hint(env)}, nil
	}
	st, err := survey(env)
	if err != nil {
		return nil, err
	}
	if len(st.inv.NICs) == 0 && len(st.inv.Duplicates()) == 0 {
		return &engine.Plan{Skip: "no physical NICs to name; " + st.inv.Summary()}, nil
	}
	mode, why := st.resolveMode(env.Spec.Names)
	st.mode = mode
	switch mode {
	case ModeKeep:
		return s.checkKeep(ctx, env, st, why)
	case ModeScripts:
		if env.Spec.ApplyNamesNow {
			return nil, engine.BadInput("--apply-names-now with --names scripts would rename live interfaces under the running network configuration; reboot instead, or use --names keep")
		}
		return s.checkScripts(ctx, env, st)
	}
	return &engine.Plan{Message: joinMsg(why+" (use --names keep to pin them anyway)", st.inv.Summary())}, nil
}

// Apply makes the plan's changes.
func (s *Step) Apply(ctx context.Context, env *engine.Env, p *engine.Plan) (bool, error) {
	st, ok := p.Data.(*state)
	if !ok {
		return false, fmt.Errorf("names: plan without step data")
	}
	switch st.mode {
	case ModeKeep:
		return s.applyKeep(ctx, env, st)
	case ModeScripts:
		return s.applyScripts(env, st)
	}
	return false, nil
}

// Owes says what applying p leaves to do: in keep mode the initramfs
// rebuild and the udev reload, run again by the next run if this one stops
// after the rules and before them; the reboot that applies the names.
func (s *Step) Owes(env *engine.Env, p *engine.Plan) engine.Owed {
	o := engine.Owed{Reboot: p.RebootPending}
	st, ok := p.Data.(*state)
	if !ok {
		return o
	}
	if st.mode == ModeScripts {
		o.Reboot = true
	}
	if st.mode == ModeKeep {
		for _, c := range st.cmds {
			o.Run = append(o.Run, host.Command{Argv: c, Redo: true})
		}
	}
	return o
}

// Verify checks the plan holds now: a fresh Check has nothing to change.
func (s *Step) Verify(ctx context.Context, env *engine.Env) error {
	return engine.CheckHolds(ctx, env, s)
}

func joinMsg(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "; ")
}
