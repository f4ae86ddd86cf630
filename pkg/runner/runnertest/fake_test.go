package runnertest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/runner"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	errs     []string
	cleanups []func()
}

func (r *recorder) Errorf(f string, a ...any) { r.errs = append(r.errs, fmt.Sprintf(f, a...)) }
func (r *recorder) Cleanup(f func())          { r.cleanups = append(r.cleanups, f) }
func (r *recorder) finish() {
	for _, f := range r.cleanups {
		f()
	}
}

func TestUnexpectedCallFails(t *testing.T) {
	r := &recorder{TB: t}
	f := New(r)
	_, err := f.Run(context.Background(), "rm", "-rf", "/")
	if err == nil || len(r.errs) != 1 || !strings.Contains(r.errs[0], "unexpected command: rm -rf /") {
		t.Errorf("err=%v errs=%q", err, r.errs)
	}
}

func TestUnusedExpectationFails(t *testing.T) {
	r := &recorder{TB: t}
	New(r).Expect(Call{Argv: []string{"update-grub"}})
	r.finish()
	if len(r.errs) != 1 || !strings.Contains(r.errs[0], "never ran:\n  update-grub") {
		t.Errorf("errs=%q", r.errs)
	}
}

func TestExpectedCallAnswersOnce(t *testing.T) {
	r := &recorder{TB: t}
	did := false
	f := New(r).Expect(Call{Argv: []string{"mst", "status"}, Output: "MST devices:", Do: func() { did = true }}).
		Expect(Call{Argv: []string{"mst", "start"}, Output: "boom", Err: errors.New("exit status 1"), ExitCode: 1})
	out, err := f.Run(context.Background(), "mst", "status")
	if err != nil || string(out) != "MST devices:" || !did {
		t.Errorf("status: %q %v", out, err)
	}
	_, err = f.Run(context.Background(), "mst", "start")
	var re *runner.Error
	if !errors.As(err, &re) || re.ExitCode != 1 {
		t.Errorf("start: %v", err)
	}
	if _, err := f.Run(context.Background(), "mst", "status"); err == nil {
		t.Error("a call registered once answered twice")
	}
	if _, err := f.LookPath("mst"); err != nil {
		t.Error("an expected tool is not found")
	}
	if _, err := f.LookPath("mlxconfig"); !errors.Is(err, runner.ErrNotFound) {
		t.Error("an unregistered tool is found")
	}
	r.finish()
	if len(r.errs) != 1 {
		t.Errorf("errs=%q, want only the second mst status", r.errs)
	}
}
