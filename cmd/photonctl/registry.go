package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/photonctl/photonctl/pkg/dataplane"
	"github.com/photonctl/photonctl/pkg/doctor"
	"github.com/photonctl/photonctl/pkg/dpdkenv"
	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/fstackconf"
	"github.com/photonctl/photonctl/pkg/grub"
	"github.com/photonctl/photonctl/pkg/hugepages"
	"github.com/photonctl/photonctl/pkg/mlnx"
	"github.com/photonctl/photonctl/pkg/sriov"
	"github.com/photonctl/photonctl/pkg/udev"
)

// steps lists every setup step, in engine.StepOrder.
func steps() []engine.Step {
	return []engine.Step{
		grub.NewStep(),
		mlnx.NewStep(),
		sriov.NewStep(),
		udev.New(),
		hugepages.NewStep(),
		fstackconf.NewStep(),
	}
}

// checks lists every doctor check; doctor.Run orders them by group.
func checks() []doctor.Check {
	var c []doctor.Check
	c = append(c, grub.Checks()...)
	c = append(c, sriov.Checks()...) // sriov (issue 4)
	c = append(c, mlnx.Checks()...)  // mlnx (issue 4)
	c = append(c, udev.Checks()...)
	c = append(c, hugepages.Checks()...)
	c = append(c, fstackconf.Checks()...)
	c = append(c, dataplane.Checks()...)                                                                        // dataplane (issue 7)
	c = append(c, dpdkenv.ChecksWith(dpdkenv.Options{FFPath: os.Getenv("FF_PATH"), Linked: linkedFstack()})...) // dpdk toolchain (issue 8)
	return c
}

// linkedFstack is the F-Stack and DPDK this photonctl carries, for the
// dpdk checks (issue 17); nil in a build without the fstack tag.
func linkedFstack() *dpdkenv.Linked {
	l := dataplane.LinkedFstack()
	if l == nil {
		return nil
	}
	return &dpdkenv.Linked{Fstack: l.Fstack, BuiltFrom: l.BuiltFrom, FlowIsolate: l.FlowIsolate, DPDK: l.DPDK, DPDKLib: l.DPDKLib}
}

// moreCommands adds the commands other issues bring (conf, run, bench), and
// those of build-only builds (gen-docs, with -tags gendocs).
func moreCommands(root *cobra.Command, g *globalOptions) {
	root.AddCommand(newConfCmd(g))
	root.AddCommand(newRunCmd(g), newBenchCmd(g)) // run, bench (issue 7)
	for _, c := range buildOnlyCommands {
		root.AddCommand(c(g))
	}
}

// buildOnlyCommands are hidden commands that only a build with a build tag
// has (gendocs.go); the photonctl that ships has none.
var buildOnlyCommands []func(*globalOptions) *cobra.Command
