package mlnx

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/runner/runnertest"
	"github.com/photonctl/photonctl/pkg/spec"
)

var (
	queryPCI = []string{"mlxconfig", "-d", "0000:03:00.0", "-e", "query"}
	queryMST = []string{"mlxconfig", "-d", "/dev/mst/mt4117_pciconf0", "-e", "query"}
	setPCI4  = []string{"mlxconfig", "-d", "0000:03:00.0", "-y", "set", "SRIOV_EN=1", "NUM_OF_VFS=4"}
)

func specVFs(n int) spec.Spec {
	s := spec.Default()
	s.VFs = n
	return s
}

func newEnv(h *host.Host, f *runnertest.Fake, s spec.Spec) *engine.Env {
	return &engine.Env{Host: h, Run: f, Spec: s}
}

func run(t *testing.T, env *engine.Env) *engine.Report {
	t.Helper()
	st := NewStep()
	rep, err := engine.Run(context.Background(), env, []engine.Step{st}, []engine.Step{st}, engine.Options{})
	if err != nil {
		t.Fatalf("setup: %v", err)
	}
	return rep
}

func writeHost(t *testing.T, h *host.Host, p, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(h.Path(p)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(h.Path(p), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The scenario: setup --vfs 4 on the dual-port card with SR-IOV off
// sets the firmware once for the card and asks for a reboot; after the
// reboot (fixture and fake now show the Current values) the step is ok.
func TestSetupFirmwareOffThenOn(t *testing.T) {
	h := fixture.Host(t, "mlnx-cx4lx-off")
	off, next := output(t, "mlxconfig-query-e-off.txt"), output(t, "mlxconfig-query-e-next.txt")
	f := runnertest.New(t).Tools("mst", "mlxfwreset")
	f.Expect(runnertest.Call{Argv: queryPCI, Output: off}) // plan
	f.Expect(runnertest.Call{Argv: queryPCI, Output: off}) // plan again before applying
	f.Expect(runnertest.Call{Argv: []string{"mst", "start"}, Output: "Starting MST (Mellanox Software Tools) driver set\n", Do: func() {
		writeHost(t, h, "/dev/mst/mt4117_pciconf0", "")
		writeHost(t, h, "/dev/mst/mt4117_pciconf0.1", "")
	}})
	f.Expect(runnertest.Call{Argv: setPCI4, Output: "Applying... Done!\n-I- Please reboot machine to load new configurations.\n"})
	f.Expect(runnertest.Call{Argv: queryPCI, Output: next}) // verify
	// After applying, the engine checks again for the message; mst now runs.
	f.Allow(runnertest.Call{Argv: []string{"mst", "status", "-v"}, Output: output(t, "mst-status-v.txt")})
	f.Allow(runnertest.Call{Argv: queryMST, Output: next})
	rep := run(t, newEnv(h, f, specVFs(4)))
	if !rep.RebootRequired || len(rep.Steps) != 1 {
		t.Fatalf("report %+v", rep)
	}
	s := rep.Steps[0]
	if s.Status != engine.StatusReboot {
		t.Errorf("status %s (%s), want reboot-required", s.Status, s.Message)
	}
	if len(s.Changes) != 2 || s.Changes[0].String() != "run: mst start" ||
		s.Changes[1].String() != "run: mlxconfig -d 0000:03:00.0 -y set SRIOV_EN=1 NUM_OF_VFS=4" ||
		s.Changes[1].Before != "SRIOV_EN=False(0) NUM_OF_VFS=0 (next boot)" {
		t.Errorf("changes %+v", s.Changes)
	}
	if !strings.Contains(s.Message, "ConnectX-4 Lx at 0000:03:00") {
		t.Errorf("message %q", s.Message)
	}

	// Run again before the reboot: nothing to set, still waiting for it.
	f2 := runnertest.New(t).Tools("mlxfwreset")
	f2.Allow(runnertest.Call{Argv: []string{"mst", "status", "-v"}, Output: output(t, "mst-status-v.txt")})
	f2.Allow(runnertest.Call{Argv: queryMST, Output: next})
	rep = run(t, newEnv(h, f2, specVFs(4)))
	if s := rep.Steps[0]; s.Status != engine.StatusReboot || len(s.Changes) != 0 || !strings.Contains(s.Message, "reboot") {
		t.Errorf("before the reboot: %+v", s)
	}

	// The reboot: the kernel now shows sriov_totalvfs, the firmware Current.
	if err := fixture.UnpackFile(filepath.Join(fixture.ModuleRoot(t), "testdata/hosts/mlnx-cx4lx-on.txtar"), h.Root()); err != nil {
		t.Fatal(err)
	}
	f3 := runnertest.New(t).Tools("mlxfwreset")
	f3.Allow(runnertest.Call{Argv: []string{"mst", "status", "-v"}, Output: output(t, "mst-status-v.txt")})
	f3.Allow(runnertest.Call{Argv: queryMST, Output: output(t, "mlxconfig-query-e-on.txt")})
	rep = run(t, newEnv(h, f3, specVFs(4)))
	if s := rep.Steps[0]; s.Status != engine.StatusOK || len(s.Changes) != 0 || rep.RebootRequired {
		t.Errorf("after the reboot: %+v", rep)
	}
	if len(rep.Resumed) != 1 || rep.Resumed[0] != engine.StepMlnx {
		t.Errorf("resumed %v", rep.Resumed)
	}
	for _, l := range append(f2.Log(), f3.Log()...) {
		if strings.Contains(l, " set ") || strings.Contains(l, "reset") {
			t.Errorf("changed the firmware again: %s", l)
		}
	}
}

func TestSetupMstflint(t *testing.T) {
	h := fixture.Host(t, "mlnx-cx4lx-off")
	q := []string{"mstconfig", "-d", "0000:03:00.0", "-e", "q"}
	f := runnertest.New(t)
	f.Expect(runnertest.Call{Argv: q, Output: output(t, "mstconfig-q-off.txt")})
	env := newEnv(h, f, specVFs(2))
	p, err := NewStep().Check(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Changes) != 1 || p.Changes[0].String() != "run: mstconfig -d 0000:03:00.0 -y set SRIOV_EN=1 NUM_OF_VFS=2" || !p.RebootPending {
		t.Errorf("plan %+v", p)
	}
}

// Only the next-boot value falls short: set it, no reboot.
func TestOnlyNextBootDiffers(t *testing.T) {
	h := fixture.Host(t, "mlnx-cx4lx-off", "mlnx-cx4lx-on")
	nextoff := output(t, "mlxconfig-query-e-nextoff.txt")
	on8 := strings.ReplaceAll(nextoff, "False(0)        \n", "True(1)         \n")
	f := runnertest.New(t)
	f.Allow(runnertest.Call{Argv: []string{"mst", "status", "-v"}, Output: output(t, "mst-status-v.txt")})
	f.Expect(runnertest.Call{Argv: queryMST, Output: nextoff})
	f.Expect(runnertest.Call{Argv: queryMST, Output: nextoff})
	f.Expect(runnertest.Call{Argv: []string{"mlxconfig", "-d", "/dev/mst/mt4117_pciconf0", "-y", "set", "SRIOV_EN=1", "NUM_OF_VFS=8"}, Output: "Done!\n"})
	f.Allow(runnertest.Call{Argv: queryMST, Output: on8}) // verify, and the check after it
	rep := run(t, newEnv(h, f, specVFs(4)))
	if s := rep.Steps[0]; s.Status != engine.StatusChanged || rep.RebootRequired {
		t.Errorf("%+v", rep)
	}
}

func TestFWReset(t *testing.T) {
	h := fixture.Host(t, "mlnx-cx4lx-off", "mlnx-cx4lx-on")
	s := specVFs(4)
	s.FWReset = true
	f := runnertest.New(t).Tools("mst")
	f.Allow(runnertest.Call{Argv: []string{"mst", "status", "-v"}, Output: output(t, "mst-status-v.txt")})
	f.Expect(runnertest.Call{Argv: queryMST, Output: output(t, "mlxconfig-query-e-off.txt")})
	f.Expect(runnertest.Call{Argv: queryMST, Output: output(t, "mlxconfig-query-e-off.txt")})
	f.Expect(runnertest.Call{Argv: []string{"mlxconfig", "-d", "/dev/mst/mt4117_pciconf0", "-y", "set", "SRIOV_EN=1", "NUM_OF_VFS=4"}})
	f.Expect(runnertest.Call{Argv: []string{"mlxfwreset", "-d", "/dev/mst/mt4117_pciconf0", "-y", "reset"}, Output: "-I- Sending Reset Command To Fw -Done\n"})
	f.Allow(runnertest.Call{Argv: queryMST, Output: output(t, "mlxconfig-query-e-on.txt")}) // verify, and the check after it
	rep := run(t, newEnv(h, f, s))
	if st := rep.Steps[0]; st.Status != engine.StatusChanged || rep.RebootRequired || len(st.Changes) != 2 {
		t.Errorf("%+v", rep)
	}
}

// Firmware values are per card: with --pf on port 0, port 1's 6 VFs keep
// their room.
func TestDualPortTakesTheLargestNeed(t *testing.T) {
	h := fixture.Host(t, "mlnx-cx4lx-off", "mlnx-cx4lx-on")
	writeHost(t, h, "/sys/devices/pci0000:00/0000:00:01.0/0000:03:00.1/sriov_numvfs", "6\n")
	s := specVFs(4)
	s.PF = "enp3s0f0"
	f := runnertest.New(t)
	f.Allow(runnertest.Call{Argv: []string{"mst", "status", "-v"}, Output: output(t, "mst-status-v.txt")})
	f.Expect(runnertest.Call{Argv: queryMST, Output: output(t, "mlxconfig-query-e-on.txt")})
	p, err := NewStep().Check(context.Background(), newEnv(h, f, s))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Changes) != 1 || !strings.HasSuffix(p.Changes[0].String(), "SRIOV_EN=1 NUM_OF_VFS=6") || !p.RebootPending {
		t.Errorf("plan %+v", p)
	}
}

func TestLockdownRefusesFirmwareChange(t *testing.T) {
	h := fixture.Host(t, "mlnx-cx4lx-off")
	writeHost(t, h, LockdownPath, "none [integrity] confidentiality\n")
	f := runnertest.New(t)
	f.Expect(runnertest.Call{Argv: queryPCI, Output: output(t, "mlxconfig-query-e-off.txt")})
	st := NewStep()
	_, err := engine.Run(context.Background(), newEnv(h, f, specVFs(4)), []engine.Step{st}, []engine.Step{st}, engine.Options{})
	if !errors.Is(err, ErrLockdown) || !strings.Contains(err.Error(), "[integrity]") {
		t.Fatalf("err %v, want ErrLockdown naming the mode", err)
	}
	// Lockdown does not matter when nothing needs changing.
	f2 := runnertest.New(t)
	h2 := fixture.Host(t, "mlnx-cx4lx-off", "mlnx-cx4lx-on")
	writeHost(t, h2, LockdownPath, "none integrity [confidentiality]\n")
	f2.Allow(runnertest.Call{Argv: []string{"mst", "status", "-v"}, Output: output(t, "mst-status-v.txt")})
	f2.Allow(runnertest.Call{Argv: queryMST, Output: output(t, "mlxconfig-query-e-on.txt")})
	if rep := run(t, newEnv(h2, f2, specVFs(4))); rep.Steps[0].Status != engine.StatusOK {
		t.Errorf("%+v", rep.Steps[0])
	}
}

func TestSkips(t *testing.T) {
	h := fixture.Host(t, "mlnx-cx4lx-off")
	f := runnertest.New(t)
	for _, c := range []struct {
		s    spec.Spec
		want string
	}{
		{spec.Default(), "not asked for"},
		{specVFs(0), "--vfs 0"},
	} {
		p, err := NewStep().Check(context.Background(), newEnv(h, f, c.s))
		if err != nil || !strings.Contains(p.Skip, c.want) {
			t.Errorf("%+v: %+v %v", c.s, p, err)
		}
	}
	empty, _ := host.New(t.TempDir())
	p, err := NewStep().Check(context.Background(), newEnv(empty, f, specVFs(4)))
	if err != nil || !strings.Contains(p.Skip, "no Mellanox NIC") {
		t.Errorf("no NIC: %+v %v", p, err)
	}
	writeHost(t, h, "/sys/class/net/eth9/address", "52:54:00:00:00:09\n")
	s := specVFs(4)
	s.PF = "eth9"
	p, err = NewStep().Check(context.Background(), newEnv(h, f, s))
	if err != nil || !strings.Contains(p.Skip, "not a Mellanox PF") {
		t.Errorf("other PF: %+v %v", p, err)
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	for _, pf := range []string{"enp9s0", "0000:03:00.7", "03:01.0"} {
		h := fixture.Host(t, "mlnx-cx4lx-off")
		f := runnertest.New(t) // strict: any command fails the test
		s := specVFs(4)
		s.PF = pf
		st := NewStep()
		_, err := engine.Run(context.Background(), newEnv(h, f, s), []engine.Step{st}, []engine.Step{st}, engine.Options{})
		if !engine.IsBadInput(err) || !strings.Contains(err.Error(), pf) || !strings.Contains(err.Error(), "0000:03:00.0 (enp3s0f0, ConnectX-4 Lx, mlx5_core)") {
			t.Errorf("--pf %s: %v", pf, err)
		}
		if h.Exists(host.BackupsDir) {
			t.Errorf("--pf %s: backups written", pf)
		}
	}
}

func TestQueryFailures(t *testing.T) {
	cases := []struct {
		name string
		call runnertest.Call
		want []string
	}{
		{"unknown device", runnertest.Call{Argv: queryPCI, Output: output(t, "mlxconfig-failed-device.txt"), Err: errors.New("exit status 1"), ExitCode: 1},
			[]string{"0000:03:00.0", "Failed to open the device", "lspci -d 15b3:", "run as root"}},
		{"garbage", runnertest.Call{Argv: queryPCI, Output: "Segmentation fault\n"},
			[]string{"no firmware configuration table", "Segmentation fault"}},
		{"no SR-IOV params", runnertest.Call{Argv: queryPCI, Output: "Configurations: Next Boot\n  LINK_TYPE_P1  ETH(2)\n"},
			[]string{"no SR-IOV settings", "cannot do SR-IOV"}},
	}
	for _, c := range cases {
		h := fixture.Host(t, "mlnx-cx4lx-off")
		f := runnertest.New(t)
		f.Expect(c.call)
		_, err := NewStep().Check(context.Background(), newEnv(h, f, specVFs(4)))
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", c.name, err, w)
			}
		}
	}
}

func TestNoTools(t *testing.T) {
	h := fixture.Host(t, "mlnx-cx4lx-off")
	_, err := NewStep().Check(context.Background(), newEnv(h, runnertest.New(t), specVFs(4)))
	if !errors.Is(err, ErrNoTools) || !strings.Contains(err.Error(), "apt-get install mstflint") {
		t.Errorf("%v", err)
	}
}

func TestOFEDInstall(t *testing.T) {
	h := fixture.Host(t, "mlnx-cx4lx-off")
	dir := "/root/MLNX_OFED_LINUX-5.4-3.6.8.1-rhel7.2-x86_64"
	writeHost(t, h, dir+"/mlnxofedinstall", "#!/bin/sh\n")
	s := spec.Default()
	s.OFEDDir = dir
	inst := append([]string{dir + "/mlnxofedinstall"}, OFEDInstallFlags...)
	f := runnertest.New(t)
	// ofed_info exists only once the installer ran.
	f.Expect(runnertest.Call{Argv: inst, Output: "Installation passed successfully\n", Do: func() {
		f.Allow(runnertest.Call{Argv: []string{"ofed_info", "-s"}, Output: output(t, "ofed-info-s.txt")})
	}})
	f.Expect(runnertest.Call{Argv: []string{"dracut", "-f"}})
	rep := run(t, newEnv(h, f, s))
	st := rep.Steps[0]
	if st.Status != engine.StatusReboot || len(st.Changes) != 2 ||
		st.Changes[0].String() != "run: "+dir+"/mlnxofedinstall --skip-distro-check --add-kernel-support --without-mlnx-nvme --dpdk" ||
		st.Changes[1].String() != "run: dracut -f" || st.Changes[0].After != "MLNX_OFED_LINUX-5.4-3.6.8.1" {
		t.Errorf("%+v", st)
	}
	// Installed now: the second run changes nothing.
	f2 := runnertest.New(t)
	f2.Allow(runnertest.Call{Argv: []string{"ofed_info", "-s"}, Output: output(t, "ofed-info-s.txt")})
	if st := run(t, newEnv(h, f2, s)).Steps[0]; len(st.Changes) != 0 || !strings.Contains(st.Message, "is installed") {
		t.Errorf("second run %+v", st)
	}
	// Debian regenerates the initramfs with update-initramfs.
	writeHost(t, h, "/etc/debian_version", "12.4\n")
	if got := initramfsArgv(newEnv(h, f2, s)); strings.Join(got, " ") != "update-initramfs -u" {
		t.Errorf("debian: %v", got)
	}
	for _, bad := range []string{"relative/dir", "/nowhere"} {
		s.OFEDDir = bad
		if _, err := NewStep().Check(context.Background(), newEnv(h, runnertest.New(t), s)); !engine.IsBadInput(err) || !strings.Contains(err.Error(), bad) {
			t.Errorf("--ofed-dir %s: %v", bad, err)
		}
	}
}

func TestTwoCardsNeedPF(t *testing.T) {
	h := fixture.Host(t, "mlnx-cx4lx-off")
	dev := "/sys/devices/pci0000:80/0000:81:00.0"
	writeHost(t, h, dev+"/vendor", "0x15b3\n")
	writeHost(t, h, dev+"/device", "0x1017\n")
	writeHost(t, h, dev+"/net/ens1f0/address", "0c:42:a1:00:00:01\n")
	if err := os.Symlink("../../../devices/pci0000:80/0000:81:00.0", h.Path("/sys/bus/pci/devices/0000:81:00.0")); err != nil {
		t.Fatal(err)
	}
	_, err := NewStep().Check(context.Background(), newEnv(h, runnertest.New(t), specVFs(4)))
	if !engine.IsBadInput(err) || !strings.Contains(err.Error(), "2 Mellanox cards") || !strings.Contains(err.Error(), "0000:81:00.0 (ens1f0, ConnectX-5, no driver)") {
		t.Errorf("%v", err)
	}
	// --pf picks the card; only its firmware is read.
	s := specVFs(4)
	s.PF = "81:00.0"
	f := runnertest.New(t)
	f.Expect(runnertest.Call{Argv: []string{"mstconfig", "-d", "0000:81:00.0", "-e", "q"}, Output: output(t, "mstconfig-q-off.txt")})
	p, err := NewStep().Check(context.Background(), newEnv(h, f, s))
	if err != nil || len(p.Changes) != 1 || !strings.Contains(p.Changes[0].String(), "-d 0000:81:00.0") {
		t.Errorf("%+v %v", p, err)
	}
}

func TestFWResetWithoutResetTool(t *testing.T) {
	h := fixture.Host(t, "mlnx-cx4lx-off")
	s := specVFs(4)
	s.FWReset = true
	f := runnertest.New(t)
	f.Expect(runnertest.Call{Argv: []string{"mstconfig", "-d", "0000:03:00.0", "-e", "q"}, Output: output(t, "mstconfig-q-off.txt")})
	_, err := NewStep().Check(context.Background(), newEnv(h, f, s))
	if err == nil || !strings.Contains(err.Error(), "--fw-reset: mstflint has no firmware reset tool") {
		t.Errorf("%v", err)
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	h := fixture.Host(t, "mlnx-cx4lx-off")
	f := runnertest.New(t).Tools("mst")
	f.Expect(runnertest.Call{Argv: queryPCI, Output: output(t, "mlxconfig-query-e-off.txt")})
	st := NewStep()
	rep, err := engine.Run(context.Background(), newEnv(h, f, specVFs(4)), []engine.Step{st}, []engine.Step{st}, engine.Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if s := rep.Steps[0]; s.Status != engine.StatusPlanned || len(s.Changes) != 2 || !rep.RebootRequired {
		t.Errorf("%+v", rep)
	}
	if ents, _ := h.ReadDir("/dev/mst"); len(ents) != 0 || h.Exists(engine.StatePath) {
		t.Error("dry run changed the host")
	}
}
