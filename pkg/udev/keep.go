package udev

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/runner"
)

// checkKeep plans the keep mode: pin every NIC's name of today to its MAC.
func (s *Step) checkKeep(ctx context.Context, env *engine.Env, st *state, why string) (*engine.Plan, error) {
	h := env.Host
	if d := st.inv.Duplicates(); len(d) > 0 {
		return nil, fmt.Errorf("%w: %s; give them distinct MACs, or use --names scripts (names by PCI path) or --names none", ErrNotUnique, d[0].Reason)
	}
	old, err := h.ReadFile(RulesPath)
	if err != nil && !host.IsNotExist(err) {
		return nil, fmt.Errorf("reading %s: %w", RulesPath, err)
	}
	var oldFile *File
	if err == nil {
		if oldFile, err = Parse(old); err != nil {
			return nil, fmt.Errorf("%w: %s: %w; fix that line or remove the file, then run setup again (nothing was written)", engine.ErrBadInput, RulesPath, err)
		}
	}
	var pin []NIC
	var notes []string
	for _, n := range st.inv.NICs {
		if why := pinnable(n); why != "" {
			notes = append(notes, n.Name+" ("+why+")")
			continue
		}
		pin = append(pin, n)
	}
	if err := s.guardKeep(ctx, env, st); err != nil {
		return nil, err
	}
	if len(pin) == 0 {
		return &engine.Plan{Skip: "no Ethernet NICs to pin: " + strings.Join(notes, "; ")}, nil
	}
	want, err := RenderNames(pin)
	if err != nil {
		return nil, fmt.Errorf("rendering %s: %w", RulesPath, err)
	}
	st.rules = want
	var msg []string
	if why != "" {
		msg = append(msg, "keep: "+why)
	}
	if race := s.raceWarning(st); race != "" {
		msg = append(msg, race)
	}
	msg = append(msg, st.inv.Summary())
	if len(notes) > 0 {
		msg = append(msg, "not pinned: "+strings.Join(notes, "; "))
	}
	if string(old) == string(want) {
		names := make([]string, len(pin))
		for i, n := range pin {
			names[i] = n.Name
		}
		return &engine.Plan{Message: joinMsg(append([]string{fmt.Sprintf("%s pins %s to their MACs", RulesPath, strings.Join(names, ", "))}, msg...)...), Data: st}, nil
	}
	changes := ruleChanges(oldFile, want)
	if c := initramfsCmd(h); c != nil {
		if _, err := env.Run.LookPath(c[0]); err == nil {
			st.cmds = append(st.cmds, c)
		} else {
			msg = append(msg, fmt.Sprintf("%s is not installed: the initramfs keeps the old rules, and a NIC whose driver loads from it may be named before these rules apply", c[0]))
		}
	} else {
		msg = append(msg, "unknown distribution (/etc/os-release): regenerate the initramfs by hand so that it carries "+RulesPath)
	}
	if _, err := env.Run.LookPath("udevadm"); err == nil {
		st.cmds = append(st.cmds, []string{"udevadm", "control", "--reload-rules"})
		if env.Spec.ApplyNamesNow {
			st.cmds = append(st.cmds, []string{"udevadm", "trigger", "--action=add", "--subsystem-match=net"})
		}
	}
	for _, c := range st.cmds {
		changes = append(changes, engine.CommandChange(c...))
	}
	return &engine.Plan{
		Changes:       changes,
		Message:       joinMsg(append([]string{fmt.Sprintf("pin %d interface name(s) to their MACs in %s", len(pin), RulesPath)}, msg...)...),
		RebootPending: !env.Spec.ApplyNamesNow,
		Data:          st,
	}, nil
}

// ruleChanges lists the rule lines the new file adds and drops.
func ruleChanges(old *File, want []byte) []engine.Change {
	had := map[string]bool{}
	if old != nil {
		for _, l := range old.Lines {
			if l.Rule != nil {
				had[l.Raw] = true
			}
		}
	}
	nf, _ := Parse(want)
	var out []engine.Change
	wantSet := map[string]bool{}
	for _, l := range nf.Lines {
		if l.Rule == nil {
			continue
		}
		wantSet[l.Raw] = true
		if !had[l.Raw] {
			out = append(out, engine.FileChange(RulesPath, 0, "", l.Raw))
		}
	}
	if old != nil {
		for _, l := range old.Lines {
			if l.Rule != nil && !wantSet[l.Raw] {
				out = append(out, engine.FileChange(RulesPath, 0, l.Raw, ""))
			}
		}
	}
	if len(out) == 0 {
		out = append(out, engine.FileChange(RulesPath, 0, "other comments", "photonctl's comment header"))
	}
	return out
}

// raceWarning warns about pinning kernel names (ethN): udev renames into the
// namespace the kernel fills at probe time, and a NIC probed in another order
// fails with "File exists".
func (s *Step) raceWarning(st *state) string {
	var eth, offer []string
	for i, n := range st.inv.NICs {
		if !kernelName(n.Name) {
			continue
		}
		eth = append(eth, n.Name)
		alt := fmt.Sprintf("net%d", i)
		if p, ok := st.preds[n.Name]; ok && !kernelName(p.Name) {
			alt = p.Name
		}
		offer = append(offer, n.Name+" -> "+alt)
	}
	if len(eth) == 0 {
		return ""
	}
	are := "is a kernel name"
	if len(eth) > 1 {
		are = "are kernel names"
	}
	return fmt.Sprintf("warning: %s %s (ethN): renaming into the kernel's own namespace races it at boot (udev: \"File exists\") when NICs probe in another order; "+
		"to avoid it, edit NAME:= in %s to names outside eth* (for example %s) and update the network configuration to match",
		strings.Join(eth, ", "), are, RulesPath, strings.Join(offer, ", "))
}

// guardKeep fails when a link the host needs (default route, SSH session)
// sits on a NIC the rules cannot pin.
func (s *Step) guardKeep(ctx context.Context, env *engine.Env, st *state) error {
	crit, err := criticalLinks(ctx, env, st.inv, s.getenv)
	if err != nil {
		return fmt.Errorf("finding the default-route and SSH interfaces: %w", err)
	}
	for _, c := range crit {
		for _, p := range physicalBelow(st.inv, c.Name) {
			reason := "it is not in the inventory"
			if n, ok := st.inv.NIC(p); ok {
				if reason = pinnable(n); reason == "" {
					continue
				}
			}
			for _, sk := range st.inv.Skipped {
				if sk.Name == p {
					reason = sk.Reason
				}
			}
			return fmt.Errorf("%s %s, but a rule cannot pin %s: %s; nothing was written: fix that first or use --names none", c.Name, c.Why, p, reason)
		}
	}
	return nil
}

func (s *Step) applyKeep(ctx context.Context, env *engine.Env, st *state) (bool, error) {
	if _, err := env.Txn.WriteFile(RulesPath, st.rules, 0o644); err != nil {
		return false, err
	}
	for _, c := range st.cmds {
		env.Progressf("names: running %s", runner.Quote(c))
		// Recorded first, to be run again by rollback once the old rules
		// are back: the initramfs and udev then carry them again.
		if err := env.Txn.Command(c, nil, true); err != nil {
			return false, err
		}
		if _, err := env.Run.Run(ctx, c...); err != nil {
			what := "running " + runner.Quote(c)
			if c[0] == "dracut" || c[0] == "update-initramfs" {
				what = "regenerating the initramfs"
			}
			if errors.Is(err, runner.ErrNotFound) {
				return false, fmt.Errorf("%s: %w; %s is written: install the tool or run the command by hand before rebooting", what, err, RulesPath)
			}
			return false, fmt.Errorf("%s: %w; %s is written: run %s by hand before rebooting", what, err, RulesPath, runner.Quote(c))
		}
	}
	return !env.Spec.ApplyNamesNow, nil
}
