package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/spec"
)

type setupOptions struct {
	g      *globalOptions
	DryRun bool
	Yes    bool
	Only   []string
	Skip   []string
	// flags holds the step flags as given; only those the user set override
	// the config file.
	flags spec.Spec
	Spec  spec.Spec
}

func newSetupCmd(g *globalOptions, runF func(*setupOptions) error) *cobra.Command {
	opts := &setupOptions{g: g, flags: spec.Default()}
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "Plan and apply the host changes a DPDK dataplane needs",
		Long: `setup plans the steps its flags ask for (grub, mlnx, sriov, names, hugepages,
fstack), shows the plan, and applies it step by step. A step not asked for is
not planned: the plan lists it with a hint saying what it would do here and
which flag asks for it. --vfs N, --bind-vfio and --iommu-args plan grub's
IOMMU arguments; --names keep|scripts plans names; --fstack plans
f-stack.conf; --only STEP asks for a step by name. A step whose state already holds does
nothing. A step that needs a reboot (kernel arguments, NIC firmware) makes setup
exit with code 3: reboot, then run photonctl setup again and it carries on.
Every file it replaces is backed up first; see photonctl rollback.

Before applying it asks on the terminal. Without a terminal to ask on (over
ssh HOST photonctl, from cron or Ansible, with stdin redirected) it applies
only with --yes: otherwise it shows the plan, changes nothing and exits 2
("no terminal to confirm on: pass --yes").`,
		Example: `  # see what would change, change nothing
  photonctl setup --dry-run --hugepages 5120
  # the whole procedure on an Intel NIC
  photonctl setup --pf enp1s0 --vfs 4 --bind-vfio --names keep --hugepages 5120 --fstack
  # F-Stack on an Intel VF with an address of its own; the PF keeps 10.0.3.15
  photonctl setup --pf enp2s0 --vfs 1 --bind-vfio --fstack --fstack-addr 10.0.3.20/24 --fstack-gateway 10.0.3.1
  # reserve 10 GB of 2 MB pages now and at every boot, without asking
  photonctl setup --only hugepages --hugepages 5120 --yes
  # the same from a host spec file
  photonctl setup --config host.yaml --yes`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.LoadSpec()
			if err != nil {
				return err
			}
			cmd.Flags().Visit(func(f *pflag.Flag) { spec.CopyFlag(&s, &opts.flags, f.Name) })
			if err := s.Validate(); err != nil {
				return withCode(ExitUsage, err)
			}
			opts.Spec = s
			if runF != nil {
				return runF(opts)
			}
			return setupRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.DryRun, "dry-run", false, "print the plan and change nothing")
	f.BoolVarP(&opts.Yes, "yes", "y", false, "apply without asking (needed when there is no terminal to ask on: ssh, cron, Ansible)")
	f.StringSliceVar(&opts.Only, "only", nil, "run only these `STEPS` (comma-separated)")
	f.StringSliceVar(&opts.Skip, "skip", nil, "do not run these `STEPS`")
	addSpecFlags(f, &opts.flags)
	return cmd
}

// addSpecFlags declares one flag per spec field.
func addSpecFlags(f *pflag.FlagSet, s *spec.Spec) {
	f.StringSliceVar(&s.IOMMUArgs, "iommu-args", s.IOMMUArgs, "grub: IOMMU `ARGS` instead of the ones for this CPU (intel_iommu=on iommu=pt on Intel)")
	f.BoolVar(&s.PCIRealloc, "pci-realloc", s.PCIRealloc, "grub: add pci=realloc (the fix for \"not enough MMIO resources for SR-IOV\")")
	f.StringVar(&s.PF, "pf", s.PF, "sriov: the physical function, as an `IFACE` or PCI address")
	f.IntVar(&s.VFs, "vfs", s.VFs, "sriov: create `N` virtual functions on the PF (-1 leaves them alone)")
	f.BoolVar(&s.VFTrust, "vf-trust", s.VFTrust, "sriov: mark the VFs trusted")
	f.StringVar(&s.VFSpoofCheck, "vf-spoof-check", s.VFSpoofCheck, "sriov: spoof checking on the VFs: on or off")
	f.IntVar(&s.VFVLAN, "vf-vlan", s.VFVLAN, "sriov: put the VFs on `VLAN`")
	f.BoolVar(&s.VFMAC, "vf-mac", s.VFMAC, "sriov: give the VFs stable MACs derived from the PF's")
	f.BoolVar(&s.BindVFIO, "bind-vfio", s.BindVFIO, "sriov: bind the chosen VF to vfio-pci (Intel NICs; never mlx5)")
	f.StringVar(&s.OFEDDir, "ofed-dir", s.OFEDDir, "mlnx: install MLNX_OFED from this unpacked `DIR`")
	f.BoolVar(&s.FWReset, "fw-reset", s.FWReset, "mlnx: apply firmware changes with mlxfwreset instead of a reboot")
	f.StringVar(&s.Names, "names", s.Names, "names: keep (udev rules), scripts (rewrite network config) or none")
	f.BoolVar(&s.ApplyNamesNow, "apply-names-now", s.ApplyNamesNow, "names: trigger the renames on the live host now")
	f.IntVar(&s.Hugepages, "hugepages", s.Hugepages, "hugepages: reserve `N` pages (-1 leaves them alone)")
	f.StringVar(&s.HugepageSize, "hugepage-size", s.HugepageSize, "hugepages: page `SIZE`, 2M or 1G")
	f.StringVar(&s.NUMANode, "numa-node", s.NUMANode, "hugepages: reserve on NUMA node `K`, or all")
	f.BoolVar(&s.Fstack, "fstack", s.Fstack, "fstack: write the f-stack.conf (--fstack-conf) for the PF")
	f.StringVar(&s.FstackConf, "fstack-conf", s.FstackConf, "fstack: the f-stack.conf `FILE` to write")
	f.StringVar(&s.FstackVersion, "fstack-version", s.FstackVersion, "fstack: F-Stack `VERSION` the config is for (default: the installed libfstack's, else the key an existing f-stack.conf uses, else the installed DPDK's F-Stack)")
	f.BoolVar(&s.LowLatency, "low-latency", s.LowLatency, "fstack: idle_sleep=0 and no delayed ACKs, for ping-pong latency")
	f.BoolVar(&s.IPv6, "ipv6", s.IPv6, "fstack: also configure the PF's global IPv6 address")
	f.StringVar(&s.FstackAddr, "fstack-addr", s.FstackAddr, "fstack: F-Stack's own IPv4 `ADDR/LEN` for [port0] instead of the PF's (a VF on vfio-pci beside a PF that keeps its kernel address), such as 10.0.3.20/24")
	f.StringVar(&s.FstackGateway, "fstack-gateway", s.FstackGateway, "fstack: [port0]'s `GATEWAY` with --fstack-addr (default: the PF's default route's, when inside the prefix)")
}

func setupRun(ctx context.Context, opts *setupOptions) error {
	g := opts.g
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	all := steps()
	sel, err := engine.SelectSteps(all, opts.Only, opts.Skip)
	if err != nil {
		return withCode(ExitUsage, err)
	}
	env, err := g.Env(opts.Spec)
	if err != nil {
		return err
	}
	env.Only = opts.Only
	eo := engine.Options{DryRun: opts.DryRun, Who: engine.Who()}
	if !g.JSON() {
		eo.ShowPlan = func(r *engine.Report) {
			for _, s := range r.Steps {
				if s.Status == engine.StatusPlanned {
					printPlan(g.Out, r, g.Verbose)
					return
				}
			}
		}
	}
	switch {
	case opts.Yes || opts.DryRun:
	case g.isTerminal():
		eo.Confirm = func(*engine.Report) (bool, error) { return confirm(g) }
	default:
		// No one to ask (ssh host photonctl ..., cron, Ansible, </dev/null):
		// refuse, as apt and terraform do, rather than apply unasked.
		eo.Confirm = func(*engine.Report) (bool, error) { return false, errNoTerminal }
	}
	rep, err := engine.Run(ctx, env, all, sel, eo)
	if err != nil {
		if errors.Is(err, errNoTerminal) {
			return withCode(ExitUsage, fmt.Errorf("%w (or --dry-run to only see the plan); nothing was changed", err))
		}
		if errors.Is(err, engine.ErrDeclined) {
			fmt.Fprintln(g.Err, err)
			return withCode(ExitFailure, nil)
		}
		if errors.Is(err, engine.ErrLocked) {
			return withCode(ExitFailure, err)
		}
		if engine.IsBadInput(err) {
			return withCode(ExitUsage, fmt.Errorf("%w\nnothing was changed", err))
		}
		return fmt.Errorf("%w\nnothing was changed", err)
	}
	if g.JSON() {
		if err := writeJSON(g.Out, rep); err != nil {
			return err
		}
	} else {
		printSetupResult(g.Out, rep, g.Verbose)
	}
	switch {
	case rep.Failed():
		return withCode(ExitFailure, nil)
	case rep.RebootRequired && !rep.DryRun:
		return withCode(ExitReboot, nil)
	}
	return nil
}

// errNoTerminal: setup has changes to apply, no --yes, and no terminal to
// ask on.
var errNoTerminal = errors.New("no terminal to confirm on: pass --yes")

func confirm(g *globalOptions) (bool, error) {
	fmt.Fprint(g.Err, "Apply this plan? [y/N] ")
	line, err := bufio.NewReader(g.In).ReadString('\n')
	if err != nil && line == "" {
		return false, nil
	}
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes", nil
}
