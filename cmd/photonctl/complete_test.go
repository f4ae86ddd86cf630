package main

import (
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/fixture"
)

// complete runs cobra's hidden __complete command, as the shell scripts do,
// and returns the candidates and the directive line.
func complete(t *testing.T, args ...string) (cands []string, directive string) {
	t.Helper()
	r := photonctl(t, append([]string{"__complete"}, args...)...)
	if r.code != 0 {
		t.Fatalf("__complete %q: exit %d %s", args, r.code, r.err)
	}
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	return lines[:len(lines)-1], lines[len(lines)-1]
}

func has(list []string, want string) bool {
	for _, l := range list {
		if l == want || strings.HasPrefix(l, want+"\t") {
			return true
		}
	}
	return false
}

func TestFlagValueCompletion(t *testing.T) {
	h := fixture.Host(t, "sriov-x710-vfs")
	for _, c := range []struct {
		args []string
		want []string
		not  []string
	}{
		{[]string{"setup", "--only", ""}, []string{"grub", "mlnx", "sriov", "names", "hugepages", "fstack"}, nil},
		{[]string{"setup", "--skip", "grub,h"}, []string{"grub,hugepages"}, []string{"grub,grub", "grub,sriov"}},
		{[]string{"doctor", "--only", "kernel,"}, []string{"kernel,sriov", "kernel,dataplane"}, []string{"kernel,kernel"}},
		{[]string{"lab", "up", "--distro", ""}, []string{"centos7", "rhel9", "ubuntu2204", "debian12"}, nil},
		{[]string{"lab", "up", "--engine", ""}, []string{"kernel", "fstack"}, nil},
		{[]string{"run", "echo", "--engine", ""}, []string{"auto", "kernel"}, nil},
		{[]string{"setup", "--names", ""}, []string{"keep", "scripts", "none"}, nil},
		{[]string{"conf", "check", "--fstack-version", ""}, []string{"1.24", "1.25"}, nil},
		{[]string{"--root", h.Root(), "setup", "--pf", ""}, []string{"ens1f0"}, nil},
		{[]string{"--root", h.Root(), "setup", "--pf", "0000:"}, []string{"0000:18:00.0"}, nil},
		{[]string{"-o", ""}, []string{"text", "json"}, nil},
	} {
		got, dir := complete(t, c.args...)
		for _, w := range c.want {
			if !has(got, w) {
				t.Errorf("%q: candidates %q lack %q", c.args, got, w)
			}
		}
		for _, w := range c.not {
			if has(got, w) {
				t.Errorf("%q: candidates %q offer %q", c.args, got, w)
			}
		}
		if !strings.HasPrefix(dir, ":") || dir == ":1" {
			t.Errorf("%q: directive %q", c.args, dir)
		}
	}
}

func TestBackupIDCompletion(t *testing.T) {
	h := fixture.Host(t, "base-centos7-2node", "hp-mounted")
	if r := photonctl(t, "--root", h.Root(), "setup", "--hugepages", "4", "--yes"); r.code != 0 {
		t.Fatalf("setup: %d %s", r.code, r.err)
	}
	list := photonctl(t, "--root", h.Root(), "rollback", "--list")
	id := strings.Fields(list.out)[0]
	got, _ := complete(t, "--root", h.Root(), "rollback", "--id", "")
	if len(got) != 1 || !strings.HasPrefix(got[0], id+"\t") || !strings.Contains(got[0], "1 file(s)") {
		t.Errorf("rollback --id completes %q; want %s with its description", got, id)
	}
}

// doctor -v says more: the root and spec it checked against, every skip on its
// own line, and how long each check took.
func TestDoctorVerbose(t *testing.T) {
	h := fixture.Host(t, "base-centos7-2node")
	quiet := photonctl(t, "--root", h.Root(), "doctor", "--only", "mlnx")
	loud := photonctl(t, "--root", h.Root(), "-v", "doctor", "--only", "mlnx")
	if quiet.code != loud.code {
		t.Fatalf("exit %d vs %d", quiet.code, loud.code)
	}
	if !strings.Contains(quiet.out, "and, for the same reason") {
		t.Fatalf("the quiet report does not fold skips, so this test shows nothing:\n%s", quiet.out)
	}
	for _, w := range []string{"host root " + h.Root() + "; spec (no --config): nothing beyond the defaults", "took "} {
		if !strings.Contains(loud.out, w) {
			t.Errorf("doctor -v lacks %q:\n%s", w, loud.out)
		}
	}
	if strings.Contains(loud.out, "and, for the same reason") || strings.Count(loud.out, "\n  skip ") <= strings.Count(quiet.out, "\n  skip ") {
		t.Errorf("doctor -v folds skips:\n%s", loud.out)
	}
}

func TestVersionFlag(t *testing.T) {
	r := photonctl(t, "--version")
	if r.code != 0 || !strings.Contains(r.out, version) {
		t.Errorf("--version: exit %d %q; want the version %q", r.code, r.out, version)
	}
}
