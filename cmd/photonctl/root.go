package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/runner"
	"github.com/photonctl/photonctl/pkg/spec"
)

// globalOptions are the flags every command has, and the process's streams.
type globalOptions struct {
	Root    string
	Output  string
	Config  string
	Verbose bool

	In       io.Reader
	Out, Err io.Writer

	// newRunner builds the runner for a root; tests replace it with a fake.
	newRunner func(root string) runner.Runner
	// isTerminal says whether stdin and stderr are a terminal (to ask, and to
	// show progress).
	isTerminal func() bool
	// hostHook, when set, is installed on every host opened (the crash
	// test interrupts a run at each write with it).
	hostHook host.WriteHook
}

// JSON reports whether --output json was asked for.
func (g *globalOptions) JSON() bool { return g.Output == "json" }

func (g *globalOptions) validate() error {
	if strings.TrimSpace(g.Root) == "" {
		// An empty --root (an unset variable in --root "$LAB") must not
		// silently mean this machine's own /.
		return usageError("--root %q: give a directory, or --root / for this machine itself", g.Root)
	}
	switch g.Output {
	case "text", "json":
	default:
		return usageError("--output %q: give text or json", g.Output)
	}
	return nil
}

// Host opens --root.
func (g *globalOptions) Host() (*host.Host, error) {
	h, err := host.New(g.Root)
	if err != nil {
		return nil, withCode(ExitUsage, err)
	}
	h.SetWriteHook(g.hostHook)
	return h, nil
}

// LoadSpec reads --config (or the defaults).
func (g *globalOptions) LoadSpec() (spec.Spec, error) {
	if g.Config == "" {
		return spec.Default(), nil
	}
	f, err := os.Open(g.Config)
	if err != nil {
		return spec.Spec{}, usageError("--config: %v", err)
	}
	defer f.Close()
	s, err := spec.Parse(f)
	if err != nil {
		return s, withCode(ExitUsage, fmt.Errorf("%s: %w", g.Config, err))
	}
	return s, nil
}

// Env builds the environment steps and checks run in.
func (g *globalOptions) Env(s spec.Spec) (*engine.Env, error) {
	h, err := g.Host()
	if err != nil {
		return nil, err
	}
	env := &engine.Env{Host: h, Run: g.newRunner(h.Root()), Spec: s}
	if !g.JSON() && g.isTerminal() {
		env.Progress = g.Err
	}
	return env, nil
}

func defaultIsTerminal() bool {
	for _, f := range []*os.File{os.Stdin, os.Stderr} {
		if _, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err != nil {
			return false
		}
	}
	return true
}

func newRootCmd(g *globalOptions) *cobra.Command {
	root := &cobra.Command{
		Use:   "photonctl",
		Short: "Get a Linux host ready for a DPDK/F-Stack dataplane, check it, and run one",
		Long: `photonctl automates the host preparation a DPDK dataplane needs: IOMMU kernel
arguments, SR-IOV VFs, Mellanox firmware, interface names that survive the
reboot, hugepages and F-Stack's f-stack.conf. It plans before it acts, backs
up every file it replaces, and picks up after the reboot it asks for.`,
		Example: `  photonctl setup --dry-run --hugepages 512
  photonctl setup --hugepages 5120 --vfs 4 --yes
  photonctl doctor
  photonctl --root /var/lib/photonctl/lab/root setup --hugepages 64 --yes`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return g.validate()
		},
	}
	// --version is photonctl's own flag rather than cobra's (root.Version),
	// so that it prints exactly what `photonctl version` prints, -o json too.
	// The root is runnable for it; cobra still refuses an argument that names
	// no command, with its suggestions.
	var showVersion bool
	root.Flags().BoolVar(&showVersion, "version", false, "print the version, as photonctl version does")
	root.RunE = func(cmd *cobra.Command, args []string) error {
		if showVersion {
			return writeVersion(g)
		}
		return cmd.Help()
	}
	root.SetIn(g.In)
	root.SetOut(g.Out)
	root.SetErr(g.Err)
	pf := root.PersistentFlags()
	pf.StringVar(&g.Root, "root", "/", "work on the host whose filesystem is under `DIR` (never empty; / is this machine)")
	pf.StringVarP(&g.Output, "output", "o", "text", "output format: text or json")
	pf.StringVar(&g.Config, "config", "", "read the host spec from a YAML `FILE` (flags override it)")
	pf.BoolVarP(&g.Verbose, "verbose", "v", false, "say more: setup shows the changes of steps already in place; doctor prints the root and spec it checks against, every skip, every fix and how long each check took")

	root.AddCommand(newSetupCmd(g, nil), newDoctorCmd(g, nil), newRollbackCmd(g), newLabCmd(g), newVersionCmd(g))
	moreCommands(root, g)
	strictGroups(root)
	addCompletions(root, g)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return withCode(ExitUsage, fmt.Errorf("%w (see %s --help)", err, c.CommandPath()))
	})
	return root
}

// strictGroups makes every command that only groups others (lab, run, bench,
// conf) refuse an argument that names none of them, as the top level does:
// cobra would print the help and exit 0, so `photonctl lab dwon` in a
// teardown script would "succeed". Without an argument the group prints its
// help and exits 0.
func strictGroups(c *cobra.Command) {
	for _, sub := range c.Commands() {
		strictGroups(sub)
	}
	if c.HasParent() && c.HasSubCommands() && !c.Runnable() {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			return unknownSubcommand(cmd, args[0])
		}
		c.RunE = func(cmd *cobra.Command, args []string) error { return cmd.Help() }
	}
}

// unknownSubcommand is cobra's own top-level message, one level down: exit 2.
func unknownSubcommand(c *cobra.Command, arg string) error {
	msg := fmt.Sprintf("unknown command %q for %q", arg, c.CommandPath())
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2 // cobra's default, set only on the root
	}
	if s := c.SuggestionsFor(arg); len(s) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
	}
	var names []string
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() {
			names = append(names, sub.Name())
		}
	}
	msg += fmt.Sprintf("\n\nthe commands of %s are: %s (see %s --help)", c.CommandPath(), strings.Join(names, ", "), c.CommandPath())
	return withCode(ExitUsage, errors.New(msg))
}

// Main runs photonctl with args and returns the exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	g := &globalOptions{
		In: stdin, Out: stdout, Err: stderr,
		newRunner:  func(root string) runner.Runner { return runner.Exec{Root: root} },
		isTerminal: defaultIsTerminal,
	}
	return run(g, args)
}

func run(g *globalOptions, args []string) int {
	root := newRootCmd(g)
	root.SetArgs(args)
	err := root.Execute()
	if err != nil && !isExitError(err) && isCobraUsage(err) {
		err = withCode(ExitUsage, err)
	}
	return exitCode(err, g.Err)
}

func isExitError(err error) bool {
	var ee *exitError
	return errors.As(err, &ee)
}

// isCobraUsage spots cobra's own usage errors (unknown command, bad args).
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires at least", "invalid argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
