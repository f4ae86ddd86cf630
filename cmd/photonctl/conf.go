package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/photonctl/photonctl/pkg/fstackconf"
	"github.com/photonctl/photonctl/pkg/spec"
)

type confOptions struct {
	g     *globalOptions
	File  string
	flags spec.Spec
	Spec  spec.Spec
}

func newConfCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "conf",
		Short: "Check or render F-Stack's f-stack.conf",
	}
	cmd.AddCommand(newConfCheckCmd(g, nil), newConfRenderCmd(g, nil))
	return cmd
}

// confSpec reads --config and lays the flags the user set over it.
func confSpec(cmd *cobra.Command, opts *confOptions) error {
	s, err := opts.g.LoadSpec()
	if err != nil {
		return err
	}
	cmd.Flags().Visit(func(f *pflag.Flag) { spec.CopyFlag(&s, &opts.flags, f.Name) })
	if err := s.Validate(); err != nil {
		return withCode(ExitUsage, err)
	}
	opts.Spec = s
	return nil
}

func newConfCheckCmd(g *globalOptions, runF func(*confOptions) error) *cobra.Command {
	opts := &confOptions{g: g, flags: spec.Default()}
	cmd := &cobra.Command{
		Use:   "check [FILE]",
		Short: "Validate an f-stack.conf against the key set of an F-Stack release",
		Long: `check reads an f-stack.conf (FILE as given, or the host's --fstack-conf under
--root) and reports every problem at once, with line numbers: keys F-Stack
does not read (with the one it does), the wrong allow-list key for the
release, missing [portN] keys, ports not in port_list, addresses outside the
netmask's subnet, a wrong broadcast, lcore_mask CPUs the host lacks, values out
of range. Exit code 1 when it finds problems, 2 when the file cannot be read
or is not an ini file.`,
		Example: `  photonctl conf check
  photonctl conf check --fstack-version 1.24 ./f-stack.conf`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := confSpec(cmd, opts); err != nil {
				return err
			}
			if len(args) == 1 {
				opts.File = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			return confCheckRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.flags.FstackVersion, "fstack-version", "", "check against F-Stack `VERSION` (default: the installed libfstack's, else the key the file uses, else the installed DPDK's F-Stack)")
	cmd.Flags().StringVar(&opts.flags.FstackConf, "fstack-conf", opts.flags.FstackConf, "the host's f-stack.conf `FILE`, when no FILE argument is given")
	return cmd
}

type confCheckReport struct {
	Schema   int                  `json:"schema"`
	File     string               `json:"file"`
	Version  string               `json:"fstack_version"`
	Notes    []string             `json:"notes,omitempty"`
	Problems []fstackconf.Problem `json:"problems"`
}

func confCheckRun(opts *confOptions) error {
	g := opts.g
	h, err := g.Host()
	if err != nil {
		return err
	}
	name := opts.File
	var b []byte
	if name != "" {
		b, err = os.ReadFile(name)
	} else {
		name = opts.Spec.FstackConf
		b, err = h.ReadFile(name)
	}
	if err != nil {
		return usageError("reading %s: %v", name, err)
	}
	rv, err := fstackconf.ResolveVersion(h, fstackconf.VersionQuery{Asked: opts.Spec.FstackVersion, FFPath: os.Getenv("FF_PATH"), Conf: name, ConfData: b})
	if err != nil {
		return usageError("--fstack-version: %v", err)
	}
	v, notes := rv.Version, rv.Notes
	f, err := fstackconf.ParseBytes(b)
	var se *fstackconf.SyntaxError
	if errors.As(err, &se) {
		for _, p := range se.Problems {
			fmt.Fprintf(g.Err, "%s:%d: %s\n", name, p.Line, p.Msg)
		}
		return usageError("%s is not an f-stack.conf F-Stack can read: %d line(s) above; nothing was checked further", name, len(se.Problems))
	}
	if err != nil {
		return usageError("%s: %v", name, err)
	}
	var online fstackconf.CPUSet
	if cb, err := h.ReadFile("/sys/devices/system/cpu/online"); err == nil {
		online, _ = fstackconf.ParseCPUList(cb)
	}
	probs := fstackconf.Check(f, v, online)
	if g.JSON() {
		if err := writeJSON(g.Out, confCheckReport{Schema: 1, File: name, Version: v.String(), Notes: notes, Problems: append([]fstackconf.Problem{}, probs...)}); err != nil {
			return err
		}
	} else {
		for _, n := range notes {
			fmt.Fprintf(g.Err, "note: %s\n", n)
		}
		for _, p := range probs {
			if p.Line == 0 {
				fmt.Fprintf(g.Out, "%s: %s\n", name, p.Msg)
			} else {
				fmt.Fprintf(g.Out, "%s:%d: %s\n", name, p.Line, p.Msg)
			}
		}
		if len(probs) == 0 {
			fmt.Fprintf(g.Out, "%s: no problems for F-Stack %s\n", name, v)
		} else {
			fmt.Fprintf(g.Out, "%d problem(s) for F-Stack %s\n", len(probs), v)
		}
	}
	if len(probs) > 0 {
		return withCode(ExitFailure, nil)
	}
	return nil
}

func newConfRenderCmd(g *globalOptions, runF func(*confOptions) error) *cobra.Command {
	opts := &confOptions{g: g, flags: spec.Default()}
	cmd := &cobra.Command{
		Use:   "render",
		Short: "Print the f-stack.conf setup would write, changing nothing",
		Long: `render fills the host's f-stack.conf (or photonctl's template, when there is
none) the way photonctl setup does: the allow-list under the right key for
the F-Stack release (on mlx5 the PF and its first VF; on other NICs the VF
alone, which DPDK drives on vfio-pci), lcore_mask on the PF's NUMA
node, pkt_tx_delay=0 and [port0] from the PF's address and default route (or
from --fstack-addr and --fstack-gateway, an address of F-Stack's own). It
prints the result on stdout and what it changed and noted on stderr.`,
		Example: `  photonctl conf render
  photonctl conf render --pf ens1f0 --fstack-version 1.25 --low-latency > f-stack.conf`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := confSpec(cmd, opts); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return confRenderRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.flags.PF, "pf", "", "the physical function, as an `IFACE` or PCI address (default: the link of the default route)")
	f.IntVar(&opts.flags.VFs, "vfs", -1, "the VFs setup is to create (`N`); with N > 0 and none yet, the first VF's address is predicted")
	f.StringVar(&opts.flags.FstackConf, "fstack-conf", opts.flags.FstackConf, "the f-stack.conf `FILE` to start from")
	f.StringVar(&opts.flags.FstackVersion, "fstack-version", "", "render for F-Stack `VERSION` (default: the installed libfstack's, else the key the file uses, else the installed DPDK's F-Stack)")
	f.BoolVar(&opts.flags.LowLatency, "low-latency", false, "idle_sleep=0 and no delayed ACKs, for ping-pong latency")
	f.BoolVar(&opts.flags.IPv6, "ipv6", false, "also configure the PF's global IPv6 address")
	f.StringVar(&opts.flags.FstackAddr, "fstack-addr", "", "F-Stack's own IPv4 `ADDR/LEN` for [port0] instead of the PF's, such as 10.0.3.20/24")
	f.StringVar(&opts.flags.FstackGateway, "fstack-gateway", "", "[port0]'s `GATEWAY` with --fstack-addr (default: the PF's default route's, when inside the prefix)")
	return cmd
}

func confRenderRun(ctx context.Context, opts *confOptions) error {
	g := opts.g
	env, err := g.Env(opts.Spec)
	if err != nil {
		return err
	}
	r, err := fstackconf.Render(env, os.Getenv("FF_PATH"))
	if err != nil {
		if errors.Is(err, fstackconf.ErrNoPF) || errors.Is(err, fstackconf.ErrNoAddress) {
			return withCode(ExitFailure, err)
		}
		return err
	}
	if _, err := g.Out.Write(r.Data); err != nil {
		return err
	}
	if r.Created {
		fmt.Fprintf(g.Err, "%s does not exist: rendered from photonctl's template\n", r.Path)
	}
	for _, e := range r.Edits {
		fmt.Fprintf(g.Err, "[%s] %s: %s -> %s\n", e.Section, e.Key, orNone(e.Before), orNone(e.After))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(g.Err, "note: %s\n", n)
	}
	for _, p := range r.Problems {
		fmt.Fprintf(g.Err, "problem: %s\n", p)
	}
	return nil
}
