package main

import (
	"github.com/spf13/cobra"
)

func newLabCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "Build a lab host on this machine: namespaces, a veth pair and a host root",
	}
	return cmd
}
