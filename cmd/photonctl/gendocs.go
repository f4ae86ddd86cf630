//go:build gendocs

package main

// gen-docs writes the man pages and the shell completion files from the
// command tree. It exists only in a build with -tags gendocs, which
// make man (and so make install and make package) runs with go run: the same
// command tree as the photonctl that ships, without cobra/doc and its
// Markdown renderer linked into it. A separate generator program could not
// reach the tree, which lives in package main.

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

func init() {
	buildOnlyCommands = append(buildOnlyCommands, newGenDocsCmd)
}

func newGenDocsCmd(g *globalOptions) *cobra.Command {
	var manDir, complDir, source, when string
	cmd := &cobra.Command{
		Use:    "gen-docs",
		Short:  "Write the man pages and shell completions (build tool, not shipped)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			root.DisableAutoGenTag = true
			if manDir != "" {
				hdr := &doc.GenManHeader{Source: source, Manual: "photonctl manual"}
				if when != "" {
					t, err := time.Parse(time.RFC3339, when)
					if err != nil {
						return usageError("--date %q: give an RFC 3339 time (2026-12-04T23:00:00Z)", when)
					}
					hdr.Date = &t
				}
				if err := os.MkdirAll(manDir, 0o755); err != nil {
					return err
				}
				if err := doc.GenManTree(root, hdr, manDir); err != nil {
					return fmt.Errorf("writing the man pages to %s: %w", manDir, err)
				}
			}
			if complDir != "" {
				if err := os.MkdirAll(complDir, 0o755); err != nil {
					return err
				}
				for name, gen := range map[string]func(string) error{
					"photonctl.bash": func(p string) error { return root.GenBashCompletionFileV2(p, true) },
					"_photonctl":     root.GenZshCompletionFile,
					"photonctl.fish": func(p string) error { return root.GenFishCompletionFile(p, true) },
				} {
					if err := gen(filepath.Join(complDir, name)); err != nil {
						return fmt.Errorf("writing the completion file %s: %w", name, err)
					}
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&manDir, "man-dir", "", "write one man page per command into `DIR` (section 1)")
	f.StringVar(&complDir, "completion-dir", "", "write photonctl.bash, _photonctl (zsh) and photonctl.fish into `DIR`")
	f.StringVar(&source, "source", "photonctl", "the man pages' source line (photonctl VERSION)")
	f.StringVar(&when, "date", "", "the man pages' date, RFC 3339 (default: SOURCE_DATE_EPOCH, else now)")
	return cmd
}
