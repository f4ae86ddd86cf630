package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/photonctl/photonctl/pkg/host"
)

func newRollbackCmd(g *globalOptions) *cobra.Command {
	var list bool
	var id string
	cmd := &cobra.Command{
		Use:   "rollback",
		Short: "List the backups setup made, or put one back",
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
					fmt.Fprintf(g.Out, "%s  %s  %d file(s)\n", m.ID, m.Reason, len(m.Entries))
					for _, e := range m.Entries {
						how := "replaced"
						if !e.Existed {
							how = "created"
						}
						fmt.Fprintf(g.Out, "    %-8s %s\n", how, e.Path)
					}
				}
				return nil
			}
			t, err := h.Rollback(id)
			if errors.Is(err, host.ErrNoBackup) {
				return withCode(ExitUsage, err)
			}
			if err != nil {
				return err
			}
			for _, e := range t.Entries() {
				fmt.Fprintf(g.Out, "restored %s\n", e.Path)
			}
			fmt.Fprintf(g.Out, "rolled back %s; to undo this: photonctl rollback --id %s\n", id, t.ID())
			return nil
		},
	}
	cmd.Flags().BoolVar(&list, "list", false, "list the backups")
	cmd.Flags().StringVar(&id, "id", "", "put back the files of backup `ID`")
	return cmd
}
