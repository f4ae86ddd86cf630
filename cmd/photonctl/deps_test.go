package main

import (
	"os/exec"
	"strings"
	"testing"
)

// goTool finds the go command for tests that run it, or skips.
func goTool(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if p, err := exec.LookPath("/usr/local/go/bin/go"); err == nil {
		return p
	}
	t.Skip("needs the go command (not on PATH, not in /usr/local/go/bin)")
	return ""
}

// TestNoTestHelpersInTheBinary: what photonctl links, in the default and the
// fstack build, holds no test helper (the testing package, pkg/fixture,
// pkg/golden, pkg/netnstest or any ...test package of this module).
func TestNoTestHelpersInTheBinary(t *testing.T) {
	gobin := goTool(t)
	for _, tags := range []string{"", "fstack"} {
		out, err := exec.Command(gobin, "list", "-deps", "-tags", tags, "github.com/photonctl/photonctl/cmd/photonctl").CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps -tags %q: %v\n%s", tags, err, out)
		}
		const mod = "github.com/photonctl/photonctl/"
		for _, p := range strings.Fields(string(out)) {
			bad := p == "testing"
			if rest, ok := strings.CutPrefix(p, mod); ok {
				last := rest[strings.LastIndex(rest, "/")+1:]
				bad = strings.HasSuffix(last, "test") || last == "fixture" || last == "golden"
			}
			if bad {
				t.Errorf("photonctl (tags %q) links the test helper %s", tags, p)
			}
		}
	}
}
