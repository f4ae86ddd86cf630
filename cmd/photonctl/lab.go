package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/photonctl/photonctl/pkg/fstackconf"
	"github.com/photonctl/photonctl/pkg/lab"
)

func newLabCmd(g *globalOptions) *cobra.Command {
	cfg := lab.DefaultConfig()
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "Build a lab host on this machine: namespaces, a veth pair and a host root",
		Long: `lab builds a lab host out of real parts on the machine it runs on: network
namespaces photon-lab-a (10.99.0.1/24) and photon-lab-b (10.99.0.2/24) joined by
a veth pair, and a host root under /var/lib/photonctl/lab/root that sees this
machine's /sys, /proc and /dev/hugepages but has its own /etc and /boot for
the distro asked for. Point photonctl at it with --root. lab down removes all
of it and puts the hugepage counts back; it touches nothing it did not create.`,
		Example: `  photonctl lab up --distro rhel9
  photonctl --root /var/lib/photonctl/lab/root setup --hugepages 64 --yes
  ip netns exec photon-lab-a photonctl run echo --listen 10.99.0.1:8080
  photonctl lab down`,
	}
	newLab := func() (*lab.Lab, error) {
		h, err := g.Host()
		if err != nil {
			return nil, err
		}
		return lab.New(h, g.newRunner("/"), cfg), nil
	}
	up := &cobra.Command{
		Use:   "up",
		Short: "Build the lab (a lab already up is left as it is)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if os.Geteuid() != 0 {
				return withCode(ExitFailure, errors.New("lab up needs root: it creates network namespaces and bind mounts"))
			}
			known := false
			for _, d := range lab.Distros() {
				known = known || d == cfg.Distro
			}
			if !known {
				return usageError("--distro %q: give one of %s", cfg.Distro, strings.Join(lab.Distros(), ", "))
			}
			if cfg.Engine != lab.EngineKernel && cfg.Engine != lab.EngineFstack {
				return usageError("--engine %q: give kernel or fstack", cfg.Engine)
			}
			if cfg.Engine == lab.EngineFstack {
				// The lab's F-Stack is this machine's: the same version
				// setup, conf and doctor would take.
				h, err := g.Host()
				if err != nil {
					return err
				}
				rv, err := fstackconf.ResolveVersion(h, fstackconf.VersionQuery{Asked: cfg.FstackVersion, FFPath: os.Getenv("FF_PATH")})
				if err != nil {
					return usageError("--fstack-version: %v", err)
				}
				for _, n := range rv.Notes {
					fmt.Fprintf(g.Err, "note: %s\n", n)
				}
				cfg.FstackVersion = rv.Version.String()
			}
			l, err := newLab()
			if err != nil {
				return err
			}
			s, err := l.Up(cmd.Context())
			if err != nil {
				return fmt.Errorf("lab up: %w", err)
			}
			return printLab(g, l, s)
		},
	}
	up.Flags().StringVar(&cfg.Distro, "distro", cfg.Distro, "the lab root's distro: "+strings.Join(lab.Distros(), ", "))
	up.Flags().StringVar(&cfg.Engine, "engine", cfg.Engine, "the dataplane the lab is for: kernel, or fstack (a bridge for DPDK's tap device and a lab f-stack.conf)")
	up.Flags().StringVar(&cfg.FstackVersion, "fstack-version", cfg.FstackVersion, "with --engine fstack: the F-Stack `VERSION` the lab's f-stack.conf is for (default: the installed libfstack's, else the installed DPDK's F-Stack)")
	down := &cobra.Command{
		Use:   "down",
		Short: "Remove the lab and everything it created",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := newLab()
			if err != nil {
				return err
			}
			if err := l.Down(cmd.Context()); err != nil {
				if errors.Is(err, lab.ErrNotUp) {
					fmt.Fprintln(g.Out, "no lab is up")
					return nil
				}
				return fmt.Errorf("lab down: %w", err)
			}
			fmt.Fprintln(g.Out, "lab removed")
			return nil
		},
	}
	status := &cobra.Command{
		Use:   "status",
		Short: "Show the lab and whether all of it is still there",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := newLab()
			if err != nil {
				return err
			}
			s, err := l.Load()
			if errors.Is(err, lab.ErrNotUp) {
				if g.JSON() {
					return writeJSON(g.Out, map[string]any{"schema": 1, "up": false})
				}
				fmt.Fprintln(g.Out, "no lab is up (photonctl lab up builds one)")
				return withCode(ExitFailure, nil)
			}
			if err != nil {
				return err
			}
			if err := printLab(g, l, s); err != nil {
				return err
			}
			if len(l.Check(s)) > 0 {
				return withCode(ExitFailure, nil)
			}
			return nil
		},
	}
	cmd.AddCommand(up, down, status)
	return cmd
}

func printLab(g *globalOptions, l *lab.Lab, s *lab.State) error {
	problems := l.Check(s)
	if g.JSON() {
		if problems == nil {
			problems = []lab.Problem{}
		}
		return writeJSON(g.Out, map[string]any{"schema": 1, "up": true, "lab": s, "problems": problems})
	}
	fmt.Fprintf(g.Out, "lab (%s) up since %s\n", s.Distro, s.Created.Format("2006-01-02 15:04:05 UTC"))
	fmt.Fprintf(g.Out, "  host root   %s   (photonctl --root %s ...)\n", s.Root, s.Root)
	fmt.Fprintf(g.Out, "  namespaces  %s: %s %s   %s: %s %s\n", s.NamespaceA(), s.VethA, s.AddrA, s.NamespaceB(), s.VethB, s.AddrB)
	fmt.Fprintf(g.Out, "  bind mounts %s\n", strings.Join(s.Binds, ", "))
	ip, _, _ := strings.Cut(s.AddrA, "/")
	if s.Engine == lab.EngineFstack {
		fmt.Fprintf(g.Out, "  engine      fstack: %s is in bridge %s; F-Stack owns %s (config %s)\n", s.VethA, s.Bridge, ip, s.Conf)
		fmt.Fprintf(g.Out, "  run it      ip netns exec %s photonctl run echo --engine fstack --conf %s --tap-bridge %s --listen %s:8080\n", s.NamespaceA(), s.Conf, s.Bridge, ip)
	} else {
		fmt.Fprintf(g.Out, "  run it      ip netns exec %s photonctl run echo --listen %s:8080\n", s.NamespaceA(), ip)
	}
	for _, p := range problems {
		fmt.Fprintf(g.Out, "  problem: %s (photonctl lab down, then up)\n", p)
	}
	return nil
}
