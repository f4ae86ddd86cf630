package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/spec"
)

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func newRollbackCmd(g *globalOptions) *cobra.Command {
	var list bool
	var id string
	cmd := &cobra.Command{
		Use:   "rollback",
		Short: "List the backups setup made, or put one back",
		Long: `rollback --id undoes one change set of setup, under the same lock as setup:
it runs the opposite of the commands setup ran (systemctl disable what it
enabled), puts back every file, symlink, mode and owner it changed, removes the
files, links and empty folders it created, runs again what generates from those
files (the initramfs), and writes back the live values it may (hugepage counts,
VF counts). What it does not put back (a mount, VF settings, vfio-pci bindings,
NIC firmware) it names, one line each, with the command that does it.
A rollback is itself a change set: its ID undoes it.`,
		Example: `  photonctl rollback --list
  photonctl rollback --id 20261201T200000.000000Z`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			h, err := g.Host()
			if err != nil {
				return err
			}
			if list == (id != "") {
				return usageError("give --list or --id ID")
			}
			if list {
				ms, err := h.Backups()
				if err != nil {
					return err
				}
				if g.JSON() {
					if ms == nil {
						ms = []host.Manifest{}
					}
					return writeJSON(g.Out, map[string]any{"schema": 1, "backups": ms})
				}
				if len(ms) == 0 {
					fmt.Fprintln(g.Out, "no backups")
				}
				for _, m := range ms {
					fmt.Fprintf(g.Out, "%s  %s  %d file(s)\n", m.ID, m.Reason, m.Files())
					for _, e := range m.Entries {
						how := "replaced"
						if !e.Existed {
							how = "created"
						}
						what := e.Path
						switch e.Kind {
						case host.KindDir:
							what += "/ (folder)"
						case host.KindLink:
							what += " (link)"
						}
						if e.Via != "" {
							what += " (through the link " + e.Via + ")"
						}
						fmt.Fprintf(g.Out, "    %-8s %s\n", how, what)
					}
					for _, c := range m.Commands {
						fmt.Fprintf(g.Out, "    %-8s %s\n", "ran", strings.Join(c.Argv, " "))
					}
					for _, l := range m.Live {
						fmt.Fprintf(g.Out, "    %-8s %s: %s -> %s\n", "changed", l.Path, l.Before, l.After)
					}
				}
				return nil
			}
			env, err := g.Env(spec.Default())
			if err != nil {
				return err
			}
			res, err := engine.Rollback(cmd.Context(), env, id, engine.Who())
			if errors.Is(err, host.ErrNoBackup) {
				return withCode(ExitUsage, err)
			}
			if errors.Is(err, engine.ErrLocked) {
				return withCode(ExitFailure, err)
			}
			if err != nil {
				if res != nil && res.Txn.Recorded() {
					err = fmt.Errorf("%w\nwhat this rollback changed so far: photonctl rollback --id %s", err, res.Txn.ID())
				}
				return err
			}
			if g.JSON() {
				return writeJSON(g.Out, map[string]any{"schema": 1, "rolled_back": id, "backup_id": res.Txn.ID(),
					"restored": res.Txn.Entries(), "done": nonNilStrings(res.Done), "not_done": nonNilStrings(res.NotDone)})
			}
			for _, e := range res.Txn.Entries() {
				fmt.Fprintf(g.Out, "restored %s\n", e.Path)
			}
			for _, d := range res.Done {
				fmt.Fprintln(g.Out, d)
			}
			for _, d := range res.NotDone {
				fmt.Fprintf(g.Out, "not done: %s\n", d)
			}
			fmt.Fprintf(g.Out, "rolled back %s; to undo this: photonctl rollback --id %s\n", id, res.Txn.ID())
			return nil
		},
	}
	cmd.Flags().BoolVar(&list, "list", false, "list the backups")
	cmd.Flags().StringVar(&id, "id", "", "put back the files of backup `ID`")
	return cmd
}
