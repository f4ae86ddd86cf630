package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/runner"
	"github.com/photonctl/photonctl/pkg/runner/runnertest"
)

// photonctlWith runs the command line against the given strict fake.
func photonctlWith(t *testing.T, fake *runnertest.Fake, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	g := &globalOptions{
		In: strings.NewReader(""), Out: &out, Err: &errb,
		newRunner:  func(string) runner.Runner { return fake },
		isTerminal: func() bool { return false },
	}
	code := run(g, args)
	return result{code, out.String(), errb.String()}
}

func mlnxOutput(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "pkg", "mlnx", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if !strings.HasPrefix(l, "# ") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "")
}

// setup --vfs 4 on a ConnectX-4 Lx with SR-IOV off in its firmware (mstflint):
// the firmware is set once for the card and setup exits 3 (reboot).
func TestSetupMlnxFirmwareNeedsReboot(t *testing.T) {
	h := fixture.Host(t, "mlnx-cx4lx-off")
	q := []string{"mstconfig", "-d", "0000:03:00.0", "-e", "q"}
	f := runnertest.New(t)
	f.Expect(runnertest.Call{Argv: q, Output: mlnxOutput(t, "mstconfig-q-off.txt")})
	f.Expect(runnertest.Call{Argv: q, Output: mlnxOutput(t, "mstconfig-q-off.txt")})
	f.Expect(runnertest.Call{Argv: []string{"mstconfig", "-d", "0000:03:00.0", "-y", "set", "SRIOV_EN=1", "NUM_OF_VFS=4"}, Output: "Applying... Done!\n"})
	// verify, and the check the engine makes after applying
	f.Allow(runnertest.Call{Argv: q, Output: setNext(mlnxOutput(t, "mstconfig-q-off.txt"), map[string]string{"SRIOV_EN": "True(1)", "NUM_OF_VFS": "4"})})
	r := photonctlWith(t, f, "--root", h.Root(), "setup", "--only", "mlnx", "--vfs", "4", "--yes")
	if r.code != ExitReboot || !strings.Contains(r.out, "reboot-required") || !strings.Contains(r.out, "mstconfig -d 0000:03:00.0 -y set SRIOV_EN=1 NUM_OF_VFS=4") {
		t.Errorf("exit %d\n%s%s", r.code, r.out, r.err)
	}
}

func TestSetupMlnxBadPF(t *testing.T) {
	h := fixture.Host(t, "mlnx-cx4lx-off")
	r := photonctlWith(t, runnertest.New(t), "--root", h.Root(), "setup", "--vfs", "4", "--pf", "0000:03:00.5", "--yes")
	if r.code != ExitUsage || !strings.Contains(r.err, `--pf "0000:03:00.5": no such interface or PCI device`) || !strings.Contains(r.err, "nothing was changed") {
		t.Errorf("exit %d\n%s%s", r.code, r.out, r.err)
	}
}

func TestDoctorMlnxGroup(t *testing.T) {
	h := fixture.Host(t, "mlnx-cx4lx-off")
	f := runnertest.New(t)
	f.Expect(runnertest.Call{Argv: []string{"mstconfig", "-d", "0000:03:00.0", "-e", "q"}, Output: mlnxOutput(t, "mstconfig-q-off.txt")})
	r := photonctlWith(t, f, "--root", h.Root(), "doctor", "--only", "mlnx")
	for _, w := range []string{"Mellanox & OFED", "mlnx-firmware", "SR-IOV is off in the firmware", "fix: photonctl setup --vfs 8 (runs mstconfig -d 0000:03:00.0 -y set SRIOV_EN=1 NUM_OF_VFS=8)", "mlnx-ofed", "--ofed-dir DIR"} {
		if !strings.Contains(r.out, w) {
			t.Errorf("doctor output lacks %q:\n%s%s", w, r.out, r.err)
		}
	}
}

// setNext rewrites the Next Boot cell (the last one) of the named rows, as
// the firmware reads after a set.
func setNext(out string, next map[string]string) string {
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(l), "*"))
		if len(f) == 4 && next[f[0]] != "" {
			lines[i] = "        " + strings.Join([]string{f[0], f[1], f[2], next[f[0]]}, "    ")
		}
	}
	return strings.Join(lines, "\n")
}
