package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/photonctl/photonctl/pkg/doctor"
	"github.com/photonctl/photonctl/pkg/dpdkenv"
	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/spec"
)

type doctorOptions struct {
	g    *globalOptions
	Only []string
	// Probe runs dpdk-testpmd on the allow-listed devices (opt-in).
	Probe        bool
	ProbeDevices []string
	// ProbeTime is how long dpdk-testpmd may run, from its launch.
	ProbeTime time.Duration
	probeSet  bool // --probe-devices or --probe-time given
}

func newDoctorCmd(g *globalOptions, runF func(*doctorOptions) error) *cobra.Command {
	opts := &doctorOptions{g: g}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the host for everything a DPDK dataplane needs, with fixes",
		Long: `doctor checks every step setup makes and every known pitfall, in the order of
the procedure: kernel & IOMMU, SR-IOV, Mellanox & OFED, interface names,
hugepages, DPDK & F-Stack, f-stack.conf, dataplane. Each warning and failure
comes with its fix. It changes nothing. Exit code 1 when a check fails.`,
		Example: `  photonctl doctor
  photonctl doctor --only hugepages,kernel
  photonctl doctor --output json
  photonctl doctor --probe --probe-time 60s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.probeSet = cmd.Flags().Changed("probe-time") || cmd.Flags().Changed("probe-devices")
			if runF != nil {
				return runF(opts)
			}
			return doctorRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Probe, "probe", false, "also start dpdk-testpmd on the allow-listed devices for a few seconds (with --flow-isolate-all unless DPDK alone drives every device: vfio-pci, uio)")
	cmd.Flags().StringSliceVar(&opts.ProbeDevices, "probe-devices", nil, "probe these PCI `DEVICES` instead of f-stack.conf's allow-list")
	cmd.Flags().DurationVar(&opts.ProbeTime, "probe-time", dpdkenv.DefaultProbeTime, "let dpdk-testpmd run this `DURATION` from its launch (longer under emulation, where DPDK's start is slow)")
	cmd.Flags().StringSliceVar(&opts.Only, "only", nil, "check only these `GROUPS` (kernel, sriov, mlnx, names, hugepages, dpdk, fstackconf, dataplane)")
	return cmd
}

func doctorRun(ctx context.Context, opts *doctorOptions) error {
	g := opts.g
	if ctx == nil {
		ctx = context.Background()
	}
	s, err := g.LoadSpec()
	if err != nil {
		return err
	}
	env, err := g.Env(s)
	if err != nil {
		return err
	}
	// What the command line and --config leave unsaid is checked against
	// what setup last applied (/var/lib/photonctl/applied.json).
	if applied, ok, err := engine.LoadApplied(env.Host); err != nil {
		fmt.Fprintf(g.Err, "photonctl: %v; checking without it\n", err)
	} else if ok {
		env.Spec = spec.Merge(applied, env.Spec)
	}
	all := checks()
	if opts.probeSet && !opts.Probe {
		return withCode(ExitUsage, errors.New("--probe-devices and --probe-time are options of --probe: add --probe (photonctl doctor --probe --probe-time 60s)"))
	}
	if opts.Probe {
		if err := dpdkenv.ValidateProbeTime(opts.ProbeTime); err != nil {
			return withCode(ExitUsage, err)
		}
		devs := opts.ProbeDevices
		if len(devs) == 0 {
			if devs, err = dpdkenv.ProbeDevices(env); err != nil {
				return withCode(ExitUsage, fmt.Errorf("--probe: %w", err))
			}
		}
		if err := dpdkenv.ValidateProbeDevices(devs); err != nil {
			return withCode(ExitUsage, fmt.Errorf("--probe: %w", err))
		}
		all = append(all, doctor.Check{ID: dpdkenv.IDProbe, Group: doctor.GroupDPDK, Run: func(ctx context.Context, env *engine.Env) []doctor.Result {
			return []doctor.Result{dpdkenv.Probe(ctx, env, devs, opts.ProbeTime)}
		}})
	}
	rep, err := doctor.Run(ctx, env, all, opts.Only)
	if err != nil {
		return withCode(ExitUsage, err)
	}
	if g.JSON() {
		if err := writeJSON(g.Out, rep); err != nil {
			return err
		}
	} else {
		if g.Verbose {
			asked := "nothing beyond the defaults"
			if a := s.Asked(); len(a) > 0 {
				asked = strings.Join(a, " ")
			}
			from := "no --config"
			if g.Config != "" {
				from = g.Config
			}
			fmt.Fprintf(g.Out, "host root %s; spec (%s): %s\n", env.Host.Root(), from, asked)
		}
		printDoctor(g.Out, rep, g.Verbose)
	}
	if rep.Failed() {
		return withCode(ExitFailure, nil)
	}
	return nil
}

// printDoctor prints the report. verbose (-v) prints every skip on its own
// line, the fix of any result that has one, and how long each check took.
func printDoctor(w io.Writer, r *doctor.Report, verbose bool) {
	group := ""
	for i := 0; i < len(r.Checks); i++ {
		c := r.Checks[i]
		if c.Group != group {
			group = c.Group
			fmt.Fprintf(w, "%s\n", doctor.GroupTitles[group])
		}
		fmt.Fprintf(w, "  %-4s %-28s %s\n", c.Status, c.ID, c.Detail)
		if c.Fix != "" && (verbose || c.Status == doctor.Warn || c.Status == doctor.Fail) {
			fmt.Fprintf(w, "       fix: %s\n", c.Fix)
		}
		if verbose {
			fmt.Fprintf(w, "       took %s\n", c.Elapsed.Round(time.Microsecond))
			continue
		}
		// Skips of one group for one reason are said once.
		var same []string
		for i+1 < len(r.Checks) && c.Status == doctor.Skip && r.Checks[i+1].Status == doctor.Skip &&
			r.Checks[i+1].Group == group && r.Checks[i+1].Detail == c.Detail {
			i++
			same = append(same, r.Checks[i].ID)
		}
		if len(same) > 0 {
			fmt.Fprintf(w, "       and, for the same reason: %s\n", strings.Join(same, ", "))
		}
	}
	fmt.Fprintf(w, "%d ok, %d warn, %d fail, %d skip\n", r.Summary.OK, r.Summary.Warn, r.Summary.Fail, r.Summary.Skip)
}
