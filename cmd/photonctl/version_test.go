package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// stamp sets the build stamp for one test.
func stamp(t *testing.T, v, c, d, dirtyFlag string) {
	old := [4]string{version, commit, date, dirty}
	version, commit, date, dirty = v, c, d, dirtyFlag
	t.Cleanup(func() { version, commit, date, dirty = old[0], old[1], old[2], old[3] })
}

func TestVersionFlagIsTheVersionCommand(t *testing.T) {
	stamp(t, "v1.2.3-4-g0123456789ab", "0123456789abcdef0123456789abcdef01234567", "2026-12-04T23:30:19Z", "true")
	want := `photonctl v1.2.3-4-g0123456789ab
  commit   0123456789abcdef0123456789abcdef01234567 (dirty tree: uncommitted changes)
  built    2026-12-04T23:30:19Z with ` // then the Go version and platform
	for _, args := range [][]string{{"--version"}, {"version"}} {
		r := photonctl(t, args...)
		if r.code != 0 || !strings.HasPrefix(r.out, want) || !strings.Contains(r.out, "\n  engines  kernel") {
			t.Errorf("photonctl %s: exit %d\n%s%s", args[0], r.code, r.out, r.err)
		}
	}
	for _, args := range [][]string{{"-o", "json", "--version"}, {"version", "-o", "json"}} {
		r := photonctl(t, args...)
		var b map[string]any
		if err := json.Unmarshal([]byte(r.out), &b); err != nil || r.code != 0 {
			t.Fatalf("photonctl %v: exit %d, %v\n%s", args, r.code, err, r.out)
		}
		for k, v := range map[string]any{"schema": 1.0, "version": "v1.2.3-4-g0123456789ab", "commit": "0123456789abcdef0123456789abcdef01234567",
			"date": "2026-12-04T23:30:19Z", "dirty": true, "os": "linux"} {
			if b[k] != v {
				t.Errorf("photonctl %v: %s = %v, want %v", args, k, b[k], v)
			}
		}
	}
}

// Without a stamp (go build), the version says so rather than lying.
func TestVersionUnstamped(t *testing.T) {
	stamp(t, "", "", "", "")
	r := photonctl(t, "version")
	if r.code != 0 || !strings.HasPrefix(r.out, "photonctl v0.0.0-unknown\n  commit   unknown (not stamped: built without make)\n  built    unknown with ") {
		t.Errorf("exit %d\n%s", r.code, r.out)
	}
}

// --version is the root's own flag: no arguments beside it, and photonctl
// alone still prints its help.
func TestRootWithoutVersion(t *testing.T) {
	if r := photonctl(t); r.code != 0 || !strings.Contains(r.out, "Available Commands:") {
		t.Errorf("photonctl alone: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if r := photonctl(t, "--version", "extra"); r.code != ExitUsage || !strings.Contains(r.err, `unknown command "extra" for "photonctl"`) {
		t.Errorf("photonctl --version extra: exit %d\n%s", r.code, r.err)
	}
}
