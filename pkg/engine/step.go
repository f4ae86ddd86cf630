package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"

	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/runner"
	"github.com/photonctl/photonctl/pkg/spec"
)

// Step names, in the order setup runs them.
const (
	StepGrub      = "grub"
	StepMlnx      = "mlnx"
	StepSRIOV     = "sriov"
	StepNames     = "names"
	StepHugepages = "hugepages"
	StepFstack    = "fstack"
)

// StepOrder is the order setup runs steps in.
var StepOrder = []string{StepGrub, StepMlnx, StepSRIOV, StepNames, StepHugepages, StepFstack}

// Status is a step's outcome.
type Status string

const (
	StatusOK      Status = "ok"              // already so: nothing to do
	StatusChanged Status = "changed"         // applied and verified
	StatusPlanned Status = "planned"         // dry run: would change
	StatusReboot  Status = "reboot-required" // applied; takes effect after a reboot
	StatusFailed  Status = "failed"
	StatusSkipped Status = "skipped"
)

// ChangeKind is what a Change changes.
type ChangeKind string

const (
	KindFile    ChangeKind = "file"    // a config file: Path, Line where there is one
	KindSysfs   ChangeKind = "sysfs"   // a sysfs attribute, written in place: Path
	KindCommand ChangeKind = "command" // a command run: Argv
	KindMount   ChangeKind = "mount"   // a filesystem mounted: Path is the mount point
	KindUnit    ChangeKind = "unit"    // a systemd unit enabled or disabled: Path is its name, Argv the command
	KindLink    ChangeKind = "link"    // a network link setting through netlink: Path names the link
)

// Change is one thing a step changes, typed: Kind says what it is, Path or
// Argv which one, Line the line of a file where there is one, Key the
// setting within the file or link ("[port0] addr", "vf 0 trust"), and
// Before and After short renderings (a line, a value), empty where there is
// none.
type Change struct {
	Kind   ChangeKind `json:"kind"`
	Path   string     `json:"path,omitempty"`
	Argv   []string   `json:"argv,omitempty"`
	Line   int        `json:"line,omitempty"`
	Key    string     `json:"key,omitempty"`
	Before string     `json:"before"`
	After  string     `json:"after"`
}

// FileChange is a change to line (0: the file as a whole) of file path.
func FileChange(path string, line int, before, after string) Change {
	return Change{Kind: KindFile, Path: path, Line: line, Before: before, After: after}
}

// SysfsChange is a sysfs attribute written from before to after.
func SysfsChange(path, before, after string) Change {
	return Change{Kind: KindSysfs, Path: path, Before: before, After: after}
}

// CommandChange is a command run.
func CommandChange(argv ...string) Change {
	return Change{Kind: KindCommand, Argv: argv}
}

// MountChange is a mount at target.
func MountChange(target, before, after string) Change {
	return Change{Kind: KindMount, Path: target, Before: before, After: after}
}

// UnitChange is systemd unit name enabled or disabled by argv.
func UnitChange(name string, argv []string, before, after string) Change {
	return Change{Kind: KindUnit, Path: name, Argv: argv, Before: before, After: after}
}

// LinkChange is setting key of network link name through netlink.
func LinkChange(name, key, before, after string) Change {
	return Change{Kind: KindLink, Path: name, Key: key, Before: before, After: after}
}

// String names the change in a line: "/etc/default/grub:6", "run:
// grub2-mkconfig -o /boot/grub2/grub.cfg", "mount: /dev/hugepages".
func (c Change) String() string {
	switch c.Kind {
	case KindCommand:
		return "run: " + runner.Quote(c.Argv)
	case KindMount:
		return "mount: hugetlbfs on " + c.Path
	case KindUnit:
		if len(c.Argv) > 0 {
			return "run: " + runner.Quote(c.Argv)
		}
		return "unit: " + c.Path
	case KindLink:
		return "link: " + c.Path + " " + c.Key
	}
	s := c.Path
	if c.Line > 0 {
		s += ":" + strconv.Itoa(c.Line)
	}
	if c.Key != "" {
		s += " " + c.Key
	}
	return s
}

// typed fills in the Kind of a change built as a bare Path (as older code
// did): "run: ARGV" is a command, /sys a sysfs attribute, "mount: " a
// mount, anything else a file.
func typed(c Change) Change {
	if c.Kind != "" {
		return c
	}
	switch {
	case strings.HasPrefix(c.Path, "run: "):
		c.Kind, c.Argv, c.Path = KindCommand, strings.Fields(strings.TrimPrefix(c.Path, "run: ")), ""
	case strings.HasPrefix(c.Path, "/sys/"):
		c.Kind = KindSysfs
	case strings.HasPrefix(c.Path, "mount: "):
		c.Kind, c.Path = KindMount, strings.TrimPrefix(c.Path, "mount: ")
	default:
		c.Kind = KindFile
	}
	return c
}

// Plan is what a step found and what it would do.
type Plan struct {
	// Changes is what Apply would change; empty means the state holds.
	Changes []Change
	// Message says what is and what should be, in a line.
	Message string
	// RebootPending: the running system will not show the wanted state until
	// a reboot. With Changes, applying them needs a reboot to take effect;
	// without, they were made earlier and the reboot has not happened yet
	// (the running kernel still has the old arguments).
	RebootPending bool
	// Skip, when set, says why the step does not apply (not asked for, no
	// such hardware); the step is reported skipped and not applied.
	Skip string
	// Hint, for a step not asked for, says what the whole procedure would
	// want from it on this host and which flag asks for it.
	Hint string
	// Data is the step's own state from Check, handed to Apply.
	Data any
	// Blocked, when set, is why Apply would fail now: the step needs a
	// reboot an earlier step plans (NIC firmware). With that reboot ahead
	// the step waits for it; without, the plan fails and nothing is applied.
	Blocked error
	// Tools are the commands Apply runs beyond the "run: ..." changes
	// (their first word counts too): each must be in the root, or nothing
	// is applied.
	Tools []string
}

// Done reports whether the state already holds.
func (p *Plan) Done() bool { return p.Skip == "" && len(p.Changes) == 0 }

// Step is one stage of setup.
type Step interface {
	Name() string
	// Check reads the host and says what Apply would change. It changes
	// nothing. An error wrapping ErrBadInput (or a spec.Error) is bad input.
	Check(ctx context.Context, env *Env) (*Plan, error)
	// Apply makes the changes of a plan Check just returned. It reports
	// whether they take effect only after a reboot.
	Apply(ctx context.Context, env *Env, p *Plan) (rebootRequired bool, err error)
	// Verify confirms the state holds after Apply.
	Verify(ctx context.Context, env *Env) error
}

// KernelArgser is a step that wants arguments on the kernel command line (1G
// hugepages, net.ifnames=0). The grub step applies them; every registered
// step is asked, selected or not, so that `--only grub` applies them all.
type KernelArgser interface {
	KernelArgs(ctx context.Context, env *Env) ([]string, error)
}

// RebootWaiter is a step that cannot run until a reboot another step asked
// for has happened (VFs need the IOMMU on and the firmware changed).
type RebootWaiter interface {
	WaitsForReboot() bool
}

// ErrBadInput marks errors that are the user's input, not the host's: exit 2.
var ErrBadInput = errors.New("bad input")

// BadInput returns an error that is bad input. Its message is the message
// alone: errors.Is(err, ErrBadInput) tells callers what kind it is.
func BadInput(format string, a ...any) error {
	return &inputError{fmt.Errorf(format, a...)}
}

type inputError struct{ err error }

func (e *inputError) Error() string        { return e.err.Error() }
func (e *inputError) Unwrap() error        { return e.err }
func (e *inputError) Is(target error) bool { return target == ErrBadInput }

// IsBadInput reports whether err is the user's input.
func IsBadInput(err error) bool {
	return errors.Is(err, ErrBadInput) || errors.Is(err, spec.ErrInvalid)
}

// Env is what steps and doctor checks work with. It is built once per command.
type Env struct {
	Host *host.Host
	Run  runner.Runner
	Spec spec.Spec
	// Txn records every file replaced in this run; nil in doctor.
	Txn *host.Txn
	// NL is the netlink handle of the network namespace to work in; nil means
	// the current one.
	NL *netlink.Handle
	// Progress receives progress lines for long waits; nil is quiet (JSON
	// output, tests).
	Progress io.Writer
	// KernelArgs are the arguments steps want on the kernel command line,
	// gathered by the engine before any step is checked.
	KernelArgs KernelArgs
	// DryRun is set while the engine only plans.
	DryRun bool
	// Only lists the steps named with --only: a step named there is asked
	// for even without the flags that otherwise ask for it.
	Only []string

	memo memo
}

// Netlink returns the handle to use: env.NL or the current namespace's.
func (e *Env) Netlink() *netlink.Handle {
	if e.NL != nil {
		return e.NL
	}
	h, err := netlink.NewHandle()
	if err != nil {
		return nil
	}
	e.NL = h
	return h
}

// Named reports whether --only names step.
func (e *Env) Named(step string) bool {
	for _, n := range e.Only {
		if n == step {
			return true
		}
	}
	return false
}

// Progressf prints a progress line where progress is wanted.
func (e *Env) Progressf(format string, a ...any) {
	if e.Progress != nil {
		fmt.Fprintf(e.Progress, format+"\n", a...)
	}
}

// KernelArgs maps the step that wants them to arguments.
type KernelArgs map[string][]string

// All lists every wanted argument once, in a stable order (by step, then as
// the step gave them).
func (k KernelArgs) All() []string {
	names := make([]string, 0, len(k))
	for n := range k {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return stepIndex(names[i]) < stepIndex(names[j]) })
	seen := map[string]bool{}
	var out []string
	for _, n := range names {
		for _, a := range k[n] {
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	return out
}

func stepIndex(name string) int {
	for i, n := range StepOrder {
		if n == name {
			return i
		}
	}
	return len(StepOrder)
}

// SelectSteps applies --only and --skip to steps, checking the names.
func SelectSteps(steps []Step, only, skip []string) ([]Step, error) {
	known := map[string]bool{}
	var names []string
	for _, s := range steps {
		known[s.Name()] = true
		names = append(names, s.Name())
	}
	for _, n := range append(append([]string(nil), only...), skip...) {
		if !known[n] {
			return nil, BadInput("unknown step %q; the steps are %s", n, strings.Join(names, ", "))
		}
	}
	in := func(list []string, n string) bool {
		for _, x := range list {
			if x == n {
				return true
			}
		}
		return false
	}
	var out []Step
	for _, s := range steps {
		if len(only) > 0 && !in(only, s.Name()) {
			continue
		}
		if in(skip, s.Name()) {
			continue
		}
		out = append(out, s)
	}
	return out, nil
}

// CheckHolds is the Verify of a step whose Check says it all: it checks
// again and fails, naming what is still to change, unless nothing is.
func CheckHolds(ctx context.Context, env *Env, s Step) error {
	p, err := s.Check(ctx, env)
	if err != nil {
		return err
	}
	if len(p.Changes) == 0 {
		return nil
	}
	left := make([]string, len(p.Changes))
	for i, c := range p.Changes {
		left[i] = typed(c).String()
	}
	return fmt.Errorf("still to change after applying: %s", strings.Join(left, ", "))
}
