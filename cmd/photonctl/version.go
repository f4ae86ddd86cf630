package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/photonctl/photonctl/pkg/dataplane"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func newVersionCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print photonctl's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			rev := ""
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" {
						rev = s.Value
					}
				}
			}
			if g.JSON() {
				return writeJSON(g.Out, map[string]any{"schema": 1, "version": version, "revision": rev, "go": runtime.Version(), "engines": engines()})
			}
			fmt.Fprintf(g.Out, "photonctl %s %s (%s, engines: %v)\n", version, rev, runtime.Version(), engines())
			return nil
		},
	}
}

// engines lists the dataplane engines built in (issue 7 fills this in).
func engines() []string { return dataplane.Engines() }
