package fstackconf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/spec"
)

// Rendered is what setup would write to f-stack.conf.
type Rendered struct {
	Path    string // host path (spec.FstackConf)
	Version Version
	Facts   *Facts
	Created bool   // no file yet: made from photonctl's template
	Old     []byte // the file as it is (nil when Created)
	Data    []byte // the file as setup writes it
	Edits   []Edit
	// Problems are what conf check still finds in the result: lines setup
	// does not manage (a misspelt key, a wrong [port1]).
	Problems []Problem
	Notes    []string
	// Memory is what F-Stack's DPDK needs ([dpdk] memory, NeedMemory);
	// MemoryMB is the file's memory as written (Memory.MB, or a larger
	// value the file had).
	Memory   Memory
	MemoryMB int
}

// Render works out the f-stack.conf setup writes for env's host and spec,
// changing nothing. ffPath is $FF_PATH (where F-Stack's sources are), "" if
// unset. A file that does not parse is bad input; a host without a PF or
// without an address on it is ErrNoPF or ErrNoAddress.
func Render(env *engine.Env, ffPath string) (*Rendered, error) {
	r := &Rendered{Path: env.Spec.FstackConf}
	f, err := Load(env.Host, r.Path)
	switch {
	case host.IsNotExist(err):
		f, r.Created = New(), true
	case err != nil:
		return nil, err
	default:
		r.Old = f.Bytes()
	}
	if r.Facts, err = Gather(env); err != nil {
		return nil, err
	}
	v, notes, err := Resolve(env.Host, ffPath, env.Spec.FstackVersion, env.Spec.FstackConf)
	if err != nil {
		return nil, engine.BadInput("--fstack-version: %w", err)
	}
	r.Version, r.Notes = v, notes
	r.Notes = append(r.Notes, r.Facts.Notes...)
	r.Edits = Fill(f, v, r.Facts, env.Spec)
	r.Data = f.Bytes()
	r.Memory, r.MemoryMB = memoryOf(f, pageKB(env.Spec)), fileMemory(f)
	if err := r.checkHugepages(env.Spec); err != nil {
		return nil, err
	}
	if g, err := ParseBytes(r.Data); err == nil {
		r.Problems = Check(g, v, r.Facts.Online)
	} else {
		return nil, fmt.Errorf("photonctl's edit of %s does not parse (a bug): %w", r.Path, err)
	}
	return r, nil
}

// checkHugepages refuses a spec whose hugepages step reserves fewer
// hugepages than the file's memory: DPDK would not start F-Stack.
func (r *Rendered) checkHugepages(s spec.Spec) error {
	if s.Hugepages < 0 {
		return nil
	}
	kb := pageKB(s)
	have := s.Hugepages * kb / 1024
	if have >= r.MemoryMB {
		return nil
	}
	pages := (r.MemoryMB*1024 + kb - 1) / kb
	which := fmt.Sprintf("the %d MB F-Stack needs (%s)", r.Memory.MB, r.Memory)
	if r.MemoryMB > r.Memory.MB {
		which = fmt.Sprintf("the %d MB %s already sets", r.MemoryMB, r.Path)
	}
	return engine.BadInput("--hugepages %d reserves %d MB of %s pages, less than [dpdk] memory=%d MB in %s, %s: DPDK would not start F-Stack; give --hugepages %d or more",
		s.Hugepages, have, s.HugepageSize, r.MemoryMB, r.Path, which, pages)
}

// Load reads and parses host file p. A file that does not parse is bad
// input (it names every bad line).
func Load(h *host.Host, p string) (*File, error) {
	b, err := h.ReadFile(p)
	if err != nil {
		return nil, err
	}
	f, err := ParseBytes(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %s:\n%w\nfix these lines (photonctl conf check %s)", engine.ErrBadInput, p, err, p)
	}
	return f, nil
}

// Changed reports whether writing Data changes the file.
func (r *Rendered) Changed() bool { return r.Created || !bytes.Equal(r.Old, r.Data) }

// Step is the fstack step of setup: it writes spec.FstackConf.
type Step struct {
	// FFPath is $FF_PATH, where F-Stack's sources are (for its version).
	FFPath string
}

// NewStep returns the fstack step, reading $FF_PATH from the environment.
func NewStep() *Step { return &Step{FFPath: os.Getenv("FF_PATH")} }

// Name is engine.StepFstack.
func (s *Step) Name() string { return engine.StepFstack }

// Check renders the file and lists the lines it changes. Without a PF (none
// given, none carrying the default route) or without an address on it, the
// step is skipped with the reason: there is nothing to fill [port0] from.
func (s *Step) Check(ctx context.Context, env *engine.Env) (*engine.Plan, error) {
	if sp := env.Spec; !sp.Fstack && !sp.LowLatency && !sp.IPv6 && sp.FstackAddr == "" && !env.Named(engine.StepFstack) {
		hint := fmt.Sprintf("--fstack writes %s for the PF (photonctl conf render shows what it would write)", sp.FstackConf)
		if env.Host.Exists(sp.FstackConf) {
			hint = fmt.Sprintf("%s exists; --fstack brings it in line with the PF (photonctl doctor --only fstackconf says whether it is)", sp.FstackConf)
		}
		return &engine.Plan{Skip: "not asked for (--fstack, --low-latency, --ipv6 or --only fstack)", Hint: hint}, nil
	}
	r, err := Render(env, s.FFPath)
	if errors.Is(err, ErrNoPF) || errors.Is(err, ErrNoAddress) {
		return &engine.Plan{Skip: err.Error()}, nil
	}
	if err != nil {
		return nil, err
	}
	p := &engine.Plan{Data: r, Message: summary(r)}
	if !r.Changed() {
		return p, nil
	}
	if r.Created {
		p.Changes = append(p.Changes, engine.FileChange(r.Path, 0, "", "new file from photonctl's template"))
	}
	for _, e := range r.Edits {
		c := engine.FileChange(r.Path, e.Line, e.Before, e.After)
		c.Key = fmt.Sprintf("[%s] %s", e.Section, e.Key)
		p.Changes = append(p.Changes, c)
	}
	return p, nil
}

func summary(r *Rendered) string {
	f := r.Facts
	pfx := 0
	if m, ok := maskBitsString(f.Netmask); ok {
		pfx = m
	}
	own := ""
	if f.Own {
		own = fmt.Sprintf(" (an address of its own, not %s's; the gateway from %s)", f.PF, f.GatewayFrom)
	}
	lines := []string{fmt.Sprintf("F-Stack %s: %s=%s, [port0] %s/%d via %s%s, lcore_mask=%s",
		r.Version, r.Version.AllowKey(), strings.Join(f.Allow(), ","), f.Addr, pfx, f.Gateway, own, f.LcoreMask)}
	mem := fmt.Sprintf("[dpdk] memory=%d MB (%s)", r.MemoryMB, r.Memory)
	if r.MemoryMB > r.Memory.MB {
		mem = fmt.Sprintf("[dpdk] memory=%d MB kept: F-Stack needs %d (%s)", r.MemoryMB, r.Memory.MB, r.Memory)
	}
	lines = append(lines, mem)
	lines = append(lines, r.Notes...)
	if len(r.Problems) > 0 {
		lines = append(lines, fmt.Sprintf("conf check still finds %d problem(s) in lines setup does not manage:", len(r.Problems)))
		for _, p := range r.Problems {
			lines = append(lines, "  "+p.String())
		}
	}
	return strings.Join(lines, "\n")
}

// Apply writes the rendered file through the run's change set.
func (s *Step) Apply(ctx context.Context, env *engine.Env, p *engine.Plan) (bool, error) {
	r, ok := p.Data.(*Rendered)
	if !ok {
		return false, fmt.Errorf("fstack: plan without a rendered file")
	}
	if _, err := env.Txn.WriteFile(r.Path, r.Data, 0o644); err != nil {
		return false, err
	}
	return false, nil
}

// Verify renders again: nothing may be left to change.
func (s *Step) Verify(ctx context.Context, env *engine.Env) error {
	r, err := Render(env, s.FFPath)
	if err != nil {
		return err
	}
	if r.Changed() {
		return fmt.Errorf("%s still differs from what setup writes (%d key(s))", r.Path, len(r.Edits))
	}
	return nil
}
