package main

import (
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/golden"
)

// The text a person reads, compared whole against testdata/*.golden
// (go test ./cmd/photonctl -update rewrites them).
func TestGoldenOutput(t *testing.T) {
	for _, tc := range []struct {
		name  string
		hosts []string
		args  []string
		code  int
	}{
		{"setup-dry-run", []string{"base-centos7-2node"}, []string{"setup", "--dry-run", "--only", "hugepages", "--hugepages", "512", "--numa-node", "0"}, 0},
		{"setup-dry-run-json", []string{"base-centos7-2node"}, []string{"-o", "json", "setup", "--dry-run", "--only", "hugepages", "--hugepages", "4", "--hugepage-size", "1G"}, 0},
		{"doctor-hugepages", []string{"base-centos7-2node"}, []string{"doctor", "--only", "hugepages"}, 1},
		{"doctor-hugepages-json", []string{"base-centos7-2node", "hp-mounted"}, []string{"-o", "json", "doctor", "--only", "hugepages"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := fixture.Host(t, tc.hosts...)
			r := photonctl(t, append([]string{"--root", h.Root()}, tc.args...)...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d; stderr %s", r.code, tc.code, r.err)
			}
			golden.Assert(t, "testdata/"+tc.name+".golden", []byte(strings.ReplaceAll(r.out, h.Root(), "$ROOT")))
		})
	}
}

func TestConfirmDeclinedChangesNothing(t *testing.T) {
	h := fixture.Host(t, "base-centos7-2node", "hp-mounted")
	before := fixture.Snapshot(t, h.Root())
	var out, errb strings.Builder
	g := testGlobals(&out, &errb, "n\n", true, t)
	code := run(g, []string{"--root", h.Root(), "setup", "--hugepages", "8"})
	if code != 1 || !strings.Contains(errb.String(), "Apply this plan? [y/N]") || !strings.Contains(errb.String(), "declined") {
		t.Errorf("exit %d stderr %q", code, errb.String())
	}
	if after := fixture.Snapshot(t, h.Root()); after != before {
		t.Errorf("declined plan changed:\n%s", fixture.Diff(before, after))
	}
	out.Reset()
	errb.Reset()
	g = testGlobals(&out, &errb, "y\n", true, t)
	if code := run(g, []string{"--root", h.Root(), "setup", "--hugepages", "8"}); code != 0 {
		t.Errorf("accepted plan: exit %d %s", code, errb.String())
	}
}

// With changes to apply, no --yes and no terminal to ask on (ssh host
// photonctl setup ..., cron, </dev/null), setup refuses: exit 2, the
// reason, nothing changed. With nothing to apply there is nothing to ask.
func TestNoTerminalWithoutYesRefuses(t *testing.T) {
	h := fixture.Host(t, "base-centos7-2node", "hp-mounted")
	before := fixture.Snapshot(t, h.Root())
	var out, errb strings.Builder
	g := testGlobals(&out, &errb, "y\n", false, t)
	code := run(g, []string{"--root", h.Root(), "setup", "--only", "hugepages", "--hugepages", "8"})
	if code != ExitUsage || !strings.Contains(errb.String(), "no terminal to confirm on: pass --yes") ||
		!strings.Contains(errb.String(), "nothing was changed") || strings.Contains(errb.String(), "Apply this plan?") {
		t.Errorf("exit %d stderr %q", code, errb.String())
	}
	if after := fixture.Snapshot(t, h.Root()); after != before {
		t.Errorf("setup without a terminal changed:\n%s", fixture.Diff(before, after))
	}
	if !strings.Contains(out.String(), "nr_hugepages") {
		t.Errorf("the plan was not shown:\n%s", out.String())
	}
	out.Reset()
	errb.Reset()
	if code := run(testGlobals(&out, &errb, "", false, t), []string{"--root", h.Root(), "setup", "--only", "hugepages", "--hugepages", "8", "--yes"}); code != 0 {
		t.Fatalf("--yes: exit %d %s", code, errb.String())
	}
	if code := run(testGlobals(&out, &errb, "", false, t), []string{"--root", h.Root(), "setup", "--only", "hugepages", "--hugepages", "8"}); code != 0 {
		t.Errorf("nothing to apply, no terminal: exit %d %s", code, errb.String())
	}
}
