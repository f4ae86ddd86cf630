package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/runner"
	"github.com/photonctl/photonctl/pkg/runner/runnertest"
)

type result struct {
	code     int
	out, err string
}

// photonctl runs the whole command line against a strict fake runner.
func photonctl(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(testGlobals(&out, &errb, "", false, t), args)
	return result{code, out.String(), errb.String()}
}

// testGlobals wires the CLI to buffers, a given stdin and a strict fake runner.
func testGlobals(out, errw io.Writer, stdin string, terminal bool, t *testing.T) *globalOptions {
	fake := runnertest.New(t)
	return &globalOptions{
		In: strings.NewReader(stdin), Out: out, Err: errw,
		newRunner:  func(string) runner.Runner { return fake },
		isTerminal: func() bool { return terminal },
	}
}

func TestSetupHugepagesOnFixtureThenNoop(t *testing.T) {
	h := fixture.Host(t, "base-centos7-2node", "hp-mounted")
	r := photonctl(t, "--root", h.Root(), "setup", "--hugepages", "64", "--yes")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.out, r.err)
	}
	for _, w := range []string{"hugepages  changed", "/etc/sysctl.d/80-photonctl-hugepages.conf", "photonctl rollback --id "} {
		if !strings.Contains(r.out, w) {
			t.Errorf("output lacks %q:\n%s", w, r.out)
		}
	}
	if n, _ := h.ReadInt("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"); n != 64 {
		t.Errorf("nr_hugepages %d", n)
	}
	r = photonctl(t, "--root", h.Root(), "--output", "json", "setup", "--hugepages", "64", "--yes")
	var rep struct {
		Schema int  `json:"schema"`
		DryRun bool `json:"dry_run"`
		Steps  []struct {
			Name, Status string
			Changes      []any
		}
	}
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil || r.code != 0 {
		t.Fatalf("exit %d, json %v:\n%s", r.code, err, r.out)
	}
	var hp string
	for _, s := range rep.Steps {
		if s.Name == "hugepages" {
			hp = s.Status
		}
	}
	if rep.Schema != 2 || hp != "ok" {
		t.Errorf("second run: %+v", rep)
	}
}

func TestConfigFileAndFlagsOverride(t *testing.T) {
	h := fixture.Host(t, "base-centos7-2node", "hp-mounted")
	cfg := filepath.Join(t.TempDir(), "host.yaml")
	os.WriteFile(cfg, []byte("hugepages: 16\nhugepage_size: 2M\n"), 0o644)
	r := photonctl(t, "--root", h.Root(), "--config", cfg, "setup", "--hugepages", "32", "--yes", "--only", "hugepages")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	if n, _ := h.ReadInt("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"); n != 32 {
		t.Errorf("nr_hugepages %d, want the flag's 32", n)
	}
}

func TestDryRunJSON(t *testing.T) {
	h := fixture.Host(t, "base-centos7-2node")
	before := fixture.Snapshot(t, h.Root())
	r := photonctl(t, "--root", h.Root(), "-o", "json", "setup", "--dry-run", "--hugepages", "8")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	if !strings.Contains(r.out, `"dry_run": true`) || !strings.Contains(r.out, `"status": "planned"`) || !strings.Contains(r.out, `"after": "8"`) {
		t.Errorf("json:\n%s", r.out)
	}
	if after := fixture.Snapshot(t, h.Root()); after != before {
		t.Errorf("dry run changed:\n%s", fixture.Diff(before, after))
	}
}

func TestBadInputExitsTwoAndWritesNothing(t *testing.T) {
	h := fixture.Host(t, "base-centos7-2node")
	before := fixture.Snapshot(t, h.Root())
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("hugepages: 8\nhugepagez: 2M\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"setup", "--hugepages", "-7"}, "-7 is not a page count"},
		{[]string{"setup", "--hugepages", "99999999", "--yes"}, "absurd"},
		{[]string{"setup", "--hugepages", "40000", "--hugepage-size", "2M", "--yes"}, "more than the"},
		{[]string{"setup", "--hugepages", "lots"}, "invalid argument"},
		{[]string{"setup", "--only", "hugepage"}, `unknown step "hugepage"`},
		{[]string{"--config", bad, "setup"}, `unknown key "hugepagez"`},
		{[]string{"--config", "/nonexistent.yaml", "setup"}, "no such file"},
		{[]string{"--output", "yaml", "doctor"}, "give text or json"},
		{[]string{"doctor", "--only", "kernal"}, `unknown group "kernal"`},
		{[]string{"frobnicate"}, "unknown command"},
		{[]string{"rollback", "--id", "nope"}, "no such backup"},
	} {
		r := photonctl(t, append([]string{"--root", h.Root()}, tc.args...)...)
		if r.code != 2 || !strings.Contains(r.err, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, r.code, r.err, tc.want)
		}
	}
	r := photonctl(t, "--root", filepath.Join(h.Root(), "missing"), "setup")
	if r.code != 2 || !strings.Contains(r.err, "does not exist") {
		t.Errorf("missing root: exit %d %q", r.code, r.err)
	}
	if after := fixture.Snapshot(t, h.Root()); after != before {
		t.Errorf("bad input changed the host:\n%s", fixture.Diff(before, after))
	}
}

func TestDoctorExitCodeAndJSON(t *testing.T) {
	h := fixture.Host(t, "base-centos7-2node")
	r := photonctl(t, "--root", h.Root(), "-o", "json", "doctor", "--only", "hugepages")
	var rep struct {
		Schema  int
		Checks  []struct{ ID, Group, Status, Detail, Fix string }
		Summary struct{ OK, Warn, Fail, Skip int }
	}
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
		t.Fatalf("%v:\n%s", err, r.out)
	}
	// hugetlbfs is not mounted on this fixture: a failure, exit 1.
	if r.code != 1 || rep.Summary.Fail == 0 || rep.Schema != 1 {
		t.Errorf("exit %d summary %+v", r.code, rep.Summary)
	}
	for _, c := range rep.Checks {
		if c.Group != "hugepages" {
			t.Errorf("--only hugepages reported %s", c.ID)
		}
	}
}

func TestRollbackCommand(t *testing.T) {
	h := fixture.Host(t, "base-centos7-2node", "hp-mounted")
	if r := photonctl(t, "--root", h.Root(), "setup", "--hugepages", "4", "--yes"); r.code != 0 {
		t.Fatalf("setup: %d %s", r.code, r.err)
	}
	r := photonctl(t, "--root", h.Root(), "rollback", "--list")
	if !strings.Contains(r.out, "created  /etc/sysctl.d/80-photonctl-hugepages.conf") {
		t.Fatalf("list:\n%s", r.out)
	}
	id := strings.Fields(r.out)[0]
	r = photonctl(t, "--root", h.Root(), "rollback", "--id", id)
	if r.code != 0 || h.Exists("/etc/sysctl.d/80-photonctl-hugepages.conf") {
		t.Errorf("rollback: %d %s %s", r.code, r.out, r.err)
	}
}

func TestDoctorProbeRefusesBadDevices(t *testing.T) {
	h := fixture.Host(t, "base-centos7-2node")
	r := photonctl(t, "--root", h.Root(), "doctor", "--probe", "--probe-devices", "eth0")
	if r.code != 2 || !strings.Contains(r.err, `probe device "eth0" is not a PCI address`) {
		t.Errorf("exit %d: %s", r.code, r.err)
	}
	r = photonctl(t, "--root", h.Root(), "doctor", "--probe")
	if r.code != 2 || !strings.Contains(r.err, "--probe:") {
		t.Errorf("no f-stack.conf, no devices: exit %d: %s", r.code, r.err)
	}
}

func TestDoctorProbeTime(t *testing.T) {
	h := fixture.Host(t, "base-centos7-2node")
	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{"--probe", "--probe-devices", "0000:03:00.0", "--probe-time", "0s"}, "--probe-time 0s: give 1s to 600s"},
		{[]string{"--probe", "--probe-devices", "0000:03:00.0", "--probe-time", "11m"}, "--probe-time 660s: give 1s to 600s"},
		{[]string{"--probe-time", "60s"}, "--probe-devices and --probe-time are options of --probe"},
		{[]string{"--probe-devices", "0000:03:00.0"}, "--probe-devices and --probe-time are options of --probe"},
		{[]string{"--probe", "--probe-time", "soon"}, `invalid argument "soon" for "--probe-time"`},
	} {
		r := photonctl(t, append([]string{"--root", h.Root(), "doctor"}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.err, c.err) {
			t.Errorf("doctor %q: exit %d: %s", c.args, r.code, r.err)
		}
	}
}

func TestTapBridgeIsForFstackOnly(t *testing.T) {
	r := photonctl(t, "run", "echo", "--engine", "kernel", "--tap-bridge", "plab-br")
	if r.code != 2 || !strings.Contains(r.err, "--tap-bridge is for the fstack engine") {
		t.Errorf("exit %d: %s", r.code, r.err)
	}
}

func TestJoinTapArgv(t *testing.T) {
	fake := runnertest.New(t)
	for _, argv := range [][]string{
		{"ip", "link", "set", "dtap0", "address", "02:00:00:00:00:aa"},
		{"ip", "link", "set", "dtap0", "master", "plab-br"},
		{"ip", "link", "set", "dtap0", "up"},
	} {
		fake.Expect(runnertest.Call{Argv: argv})
	}
	if err := joinTap(context.Background(), fake, "plab-br"); err != nil {
		t.Fatal(err)
	}
}

// A typo one level down exits 2 with a suggestion, as the top level does; a
// group given no argument still prints its help and exits 0.
func TestSubcommandTypoExitsTwo(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"lab", "dwon"}, "down"},
		{[]string{"run", "ech"}, "echo"},
		{[]string{"conf", "rendr"}, "render"},
		{[]string{"bench", "ecko"}, "echo"},
		{[]string{"setpu"}, "setup"},
	} {
		r := photonctl(t, c.args...)
		if r.code != ExitUsage {
			t.Errorf("%v: exit %d, want %d\n%s%s", c.args, r.code, ExitUsage, r.out, r.err)
		}
		if !strings.Contains(r.err, "unknown command") || !strings.Contains(r.err, "Did you mean this?\n\t"+c.want) {
			t.Errorf("%v: stderr does not suggest %q:\n%s", c.args, c.want, r.err)
		}
	}
	r := photonctl(t, "lab")
	if r.code != 0 || !strings.Contains(r.out, "Available Commands") {
		t.Errorf("lab without a subcommand: exit %d\n%s%s", r.code, r.out, r.err)
	}
}

// An empty --root (say, an unset variable) is refused, not taken as /; a YAML value
// of the wrong type names its key.
func TestEmptyRootAndYAMLTypeErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--root", "", "setup", "--dry-run", "--hugepages", "1"},
		{"--root=", "doctor"},
		{"--root", " ", "rollback", "--list"},
	} {
		r := photonctl(t, args...)
		if r.code != ExitUsage || !strings.Contains(r.err, "--root") || !strings.Contains(r.err, "give a directory") {
			t.Errorf("%q: exit %d\n%s%s", args, r.code, r.out, r.err)
		}
	}
	h := fixture.Host(t, "base-centos7-2node", "hp-mounted")
	cfg := filepath.Join(t.TempDir(), "host.yaml")
	if err := os.WriteFile(cfg, []byte("hugepages: 64\nvfs: four\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := photonctl(t, "--root", h.Root(), "--config", cfg, "setup", "--dry-run")
	if r.code != ExitUsage || !strings.Contains(r.err, `line 2: key vfs: "four" is not a whole number`) {
		t.Errorf("exit %d\n%s", r.code, r.err)
	}
}
