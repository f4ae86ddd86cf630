package udev

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/netconf"
)

// fileEdit is one configuration file and its rewrite.
type fileEdit struct {
	old  netconf.File
	edit netconf.Edit
}

// checkScripts plans the scripts mode: accept the names udev will give after
// the reboot and point the network configuration at them.
func (s *Step) checkScripts(ctx context.Context, env *engine.Env, st *state) (*engine.Plan, error) {
	var unsure []string
	for _, n := range st.inv.NICs {
		if err, ok := st.perr[n.Name]; ok {
			unsure = append(unsure, err.Error())
		}
	}
	if len(unsure) > 0 {
		return nil, fmt.Errorf("%w: %s; use --names keep to pin today's names instead (nothing was written)", ErrUnpredictable, strings.Join(unsure, "; "))
	}
	renames := map[string]string{}
	var order []string
	taken := map[string]string{}
	for _, n := range st.inv.NICs {
		p := st.preds[n.Name]
		if o, ok := taken[p.Name]; ok {
			return nil, fmt.Errorf("%w: %s and %s would both be named %s; use --names keep", ErrUnpredictable, o, n.Name, p.Name)
		}
		taken[p.Name] = n.Name
		if p.Name != n.Name {
			renames[n.Name] = p.Name
			order = append(order, n.Name)
		}
	}
	if len(renames) == 0 {
		return &engine.Plan{Message: joinMsg("names will not change after the reboot", st.inv.Summary()), Data: st}, nil
	}
	files, err := netconf.Find(env.Host)
	if err != nil {
		return nil, err
	}
	newPaths := map[string]bool{}
	oldPaths := map[string]bool{}
	for _, f := range files {
		oldPaths[f.Path] = true
	}
	var changes []engine.Change
	for _, f := range files {
		e, err := netconf.Rewrite(f, renames)
		if err != nil {
			return nil, fmt.Errorf("%w; use --names keep (nothing was written)", err)
		}
		if !e.Changed(f) {
			continue
		}
		if e.Path != f.Path {
			if newPaths[e.Path] {
				return nil, fmt.Errorf("two files would become %s; merge them by hand or use --names keep", e.Path)
			}
			if oldPaths[e.Path] && !renamedAway(files, e.Path, renames) {
				return nil, fmt.Errorf("renaming %s to %s would overwrite an existing file; remove one of them or use --names keep", f.Path, e.Path)
			}
		}
		newPaths[e.Path] = true
		st.edits = append(st.edits, fileEdit{f, e})
		for _, lc := range e.Lines {
			changes = append(changes, engine.FileChange(e.Path, lc.Line, lc.Before, lc.After))
		}
		if e.Path != f.Path {
			changes = append(changes, engine.FileChange(f.Path, 0, f.Path, "renamed to "+e.Path))
		}
	}
	if err := s.guardScripts(ctx, env, st, files, renames); err != nil {
		return nil, err
	}
	var moves []string
	for _, o := range order {
		moves = append(moves, fmt.Sprintf("%s -> %s (%s)", o, renames[o], st.preds[o].Source))
	}
	msg := "after the reboot: " + strings.Join(moves, ", ")
	if len(changes) == 0 {
		return &engine.Plan{Message: joinMsg(msg, "the network configuration already names them", st.inv.Summary()), Data: st}, nil
	}
	return &engine.Plan{
		Changes:       changes,
		Message:       joinMsg(msg, "reboot soon after: the rewritten configuration no longer matches the running names", st.inv.Summary()),
		RebootPending: true,
		Data:          st,
	}, nil
}

// renamedAway reports whether the file at p is itself renamed by the edit.
func renamedAway(files []netconf.File, p string, renames map[string]string) bool {
	for _, f := range files {
		if f.Path != p {
			continue
		}
		e, err := netconf.Rewrite(f, renames)
		return err == nil && e.Path != p
	}
	return false
}

// guardScripts fails when an interface that carries the default route or the
// SSH session would come back under a name no configuration matches.
func (s *Step) guardScripts(ctx context.Context, env *engine.Env, st *state, files []netconf.File, renames map[string]string) error {
	crit, err := criticalLinks(ctx, env, st.inv, s.getenv)
	if err != nil {
		return fmt.Errorf("finding the default-route and SSH interfaces: %w", err)
	}
	// The configuration as it will be: rewritten files replace the old ones.
	after := map[string]netconf.File{}
	for _, f := range files {
		after[f.Path] = f
	}
	for _, fe := range st.edits {
		delete(after, fe.old.Path)
		after[fe.edit.Path] = netconf.File{Path: fe.edit.Path, Format: fe.old.Format, Data: fe.edit.Data}
	}
	names, macs := map[string]string{}, map[string]string{}
	paths := make([]string, 0, len(after))
	for p := range after {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		refs, err := netconf.Refs(after[p])
		if err != nil {
			continue
		}
		for _, r := range refs {
			if r.Name != "" && names[r.Name] == "" {
				names[r.Name] = p
			}
			if r.MAC != "" && macs[r.MAC] == "" {
				macs[r.MAC] = p
			}
		}
	}
	for _, c := range crit {
		for _, p := range physicalBelow(st.inv, c.Name) {
			nic, ok := st.inv.NIC(p)
			if !ok {
				return fmt.Errorf("%s %s, but photonctl cannot predict the name of %s after the reboot; nothing was written: use --names keep", c.Name, c.Why, p)
			}
			nn, renamed := renames[p]
			if !renamed {
				continue
			}
			if names[nn] != "" || macs[strings.ToLower(nic.MAC.String())] != "" {
				continue
			}
			via := c.Name
			if p != c.Name {
				via = c.Name + " (through " + p + ")"
			}
			return fmt.Errorf("%s %s; after the reboot %s will be %s and no network configuration photonctl knows (ifcfg, NetworkManager keyfiles, netplan, /etc/network/interfaces) names %s or matches its MAC %s, so the host would be unreachable; nothing was written: use --names keep, or configure %s first",
				via, c.Why, p, nn, nn, nic.MAC, p)
		}
	}
	return nil
}

func (s *Step) applyScripts(env *engine.Env, st *state) (bool, error) {
	written := map[string]bool{}
	for _, fe := range st.edits {
		perm := fs.FileMode(0o644)
		if fi, err := os.Stat(env.Host.Path(fe.old.Path)); err == nil {
			perm = fi.Mode().Perm()
		}
		if _, err := env.Txn.WriteFile(fe.edit.Path, fe.edit.Data, perm); err != nil {
			return false, err
		}
		written[fe.edit.Path] = true
	}
	for _, fe := range st.edits {
		if fe.edit.Path == fe.old.Path || written[fe.old.Path] {
			continue
		}
		if _, err := env.Txn.Remove(fe.old.Path); err != nil {
			return false, fmt.Errorf("removing %s after writing %s: %w", fe.old.Path, fe.edit.Path, err)
		}
	}
	return true, nil
}
