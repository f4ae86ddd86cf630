// Package runnertest has a strict fake runner.Runner for tests: every call
// must be registered with Expect, and every registered call must happen.
package runnertest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/photonctl/photonctl/pkg/runner"
)

// Call is one expected command and what it answers.
type Call struct {
	Argv   []string
	Output string
	// Err, when set, makes the call fail with a *runner.Error wrapping it.
	Err error
	// ExitCode goes into the *runner.Error when Err is set.
	ExitCode int
	// Do runs when the call happens (to play the tool's effect on a fixture).
	Do    func()
	times int // 0: exactly once; -1: any number of times
}

// Fake is a strict fake Runner.
type Fake struct {
	t     testing.TB
	mu    sync.Mutex
	calls []*Call
	used  map[*Call]int
	tools map[string]bool
	log   []string
}

// New returns a fake that fails t on an unexpected call and, at cleanup, on
// an expected call that never happened.
func New(t testing.TB) *Fake {
	f := &Fake{t: t, used: map[*Call]int{}, tools: map[string]bool{}}
	t.Cleanup(f.verify)
	return f
}

// Tools declares which tools LookPath finds.
func (f *Fake) Tools(names ...string) *Fake {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range names {
		f.tools[n] = true
	}
	return f
}

// Expect registers a call that must happen exactly once, in any order. The
// tool (argv[0]) becomes known to LookPath.
func (f *Fake) Expect(c Call) *Fake {
	f.mu.Lock()
	defer f.mu.Unlock()
	cc := c
	f.calls = append(f.calls, &cc)
	f.tools[c.Argv[0]] = true
	return f
}

// Allow registers a call that may happen any number of times.
func (f *Fake) Allow(c Call) *Fake {
	f.Expect(c)
	f.mu.Lock()
	f.calls[len(f.calls)-1].times = -1
	f.mu.Unlock()
	return f
}

// Log is every call that happened, as command lines.
func (f *Fake) Log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

// LookPath finds declared tools.
func (f *Fake) LookPath(name string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tools[name] {
		return "/usr/bin/" + name, nil
	}
	return "", fmt.Errorf("%s is not installed: %w", name, runner.ErrNotFound)
}

// Run answers a registered call.
func (f *Fake) Run(ctx context.Context, argv ...string) ([]byte, error) {
	f.mu.Lock()
	line := runner.Quote(argv)
	f.log = append(f.log, line)
	var hit *Call
	for _, c := range f.calls {
		if equal(c.Argv, argv) && (c.times == -1 || f.used[c] == 0) {
			hit = c
			break
		}
	}
	if hit == nil {
		f.mu.Unlock()
		f.t.Errorf("runnertest: unexpected command: %s", line)
		return nil, &runner.Error{Argv: argv, ExitCode: -1, Err: fmt.Errorf("unexpected command in test")}
	}
	f.used[hit]++
	f.mu.Unlock()
	if hit.Do != nil {
		hit.Do()
	}
	if hit.Err != nil {
		return []byte(hit.Output), &runner.Error{Argv: argv, ExitCode: hit.ExitCode, Output: []byte(hit.Output), Err: hit.Err}
	}
	return []byte(hit.Output), nil
}

func (f *Fake) verify() {
	f.mu.Lock()
	defer f.mu.Unlock()
	var missing []string
	for _, c := range f.calls {
		if c.times == 0 && f.used[c] == 0 {
			missing = append(missing, runner.Quote(c.Argv))
		}
	}
	if len(missing) > 0 {
		f.t.Errorf("runnertest: expected commands never ran:\n  %s\ncommands that ran:\n  %s", strings.Join(missing, "\n  "), strings.Join(f.log, "\n  "))
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
