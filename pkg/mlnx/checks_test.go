package mlnx

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/doctor"
	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/runner/runnertest"
	"github.com/photonctl/photonctl/pkg/spec"
)

func runChecks(t *testing.T, env *engine.Env) map[string][]doctor.Result {
	t.Helper()
	rep, err := doctor.Run(context.Background(), env, Checks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]doctor.Result{}
	for _, r := range rep.Checks {
		if r.Group != doctor.GroupMlnx {
			t.Errorf("%s in group %s", r.ID, r.Group)
		}
		if (r.Status == doctor.Warn || r.Status == doctor.Fail) && r.Fix == "" {
			t.Errorf("%s: %s without a fix: %s", r.ID, r.Status, r.Detail)
		}
		out[r.ID] = append(out[r.ID], r)
	}
	return out
}

func one(t *testing.T, res map[string][]doctor.Result, id string, st doctor.Status, detail ...string) doctor.Result {
	t.Helper()
	rs := res[id]
	if len(rs) != 1 {
		t.Fatalf("%s: %d results: %+v", id, len(rs), rs)
	}
	r := rs[0]
	if r.Status != st {
		t.Errorf("%s: %s (%s), want %s", id, r.Status, r.Detail, st)
	}
	for _, d := range detail {
		if !strings.Contains(r.Detail+" | "+r.Fix, d) {
			t.Errorf("%s: %q / %q lacks %q", id, r.Detail, r.Fix, d)
		}
	}
	return r
}

func TestChecksNoNIC(t *testing.T) {
	h, _ := host.New(t.TempDir())
	res := runChecks(t, newEnv(h, runnertest.New(t), spec.Default()))
	if len(res) != len(Checks()) {
		t.Fatalf("%d checks reported", len(res))
	}
	for id, rs := range res {
		if rs[0].Status != doctor.Skip || rs[0].Detail != noNIC {
			t.Errorf("%s: %+v", id, rs[0])
		}
	}
}

func offHostFake(t *testing.T, query string) *runnertest.Fake {
	f := runnertest.New(t).Tools("mlxfwreset", "mst", "gcc")
	f.Expect(runnertest.Call{Argv: queryPCI, Output: query})
	f.Allow(runnertest.Call{Argv: []string{"ofed_info", "-s"}, Output: output(t, "ofed-info-s.txt")})
	f.Expect(runnertest.Call{Argv: []string{"gcc", "--version"}, Output: "gcc (GCC) 4.8.5 20150623 (Red Hat 4.8.5-44)\nCopyright (C) 2015 Free Software Foundation, Inc.\n"})
	f.Expect(runnertest.Call{Argv: rpmListArgv, Output: "bash\t4.2.46-35.el7_9\nrdma-core\t22.4-6.el7_9\nlibrdmacm\t22.4-6.el7_9\nlibibverbs\t54mlnx1-1.54103\n"})
	return f
}

func TestChecksFirmwareOff(t *testing.T) {
	h := fixture.Host(t, "mlnx-cx4lx-off")
	res := runChecks(t, newEnv(h, offHostFake(t, output(t, "mlxconfig-query-e-off.txt")), specVFs(4)))
	one(t, res, "mlnx-nic", doctor.OK, "ConnectX-4 Lx at 0000:03:00", "0000:03:00.1 (enp3s0f1, ConnectX-4 Lx, mlx5_core) no SR-IOV")
	one(t, res, "mlnx-tools", doctor.OK, "NVIDIA MFT (mlxconfig, mlxfwreset, mst)")
	one(t, res, "mlnx-firmware", doctor.Fail, "current SRIOV_EN=False(0) NUM_OF_VFS=0", "next boot SRIOV_EN=False(0)",
		"photonctl setup --vfs 4 (runs mlxconfig -d 0000:03:00.0 -y set SRIOV_EN=1 NUM_OF_VFS=4), then reboot")
	one(t, res, "mlnx-ibdev2netdev", doctor.OK, "mlx5_0 ==> enp3s0f0; mlx5_1 ==> enp3s0f1 (from sysfs)")
	one(t, res, "mlnx-ofed", doctor.OK, "MLNX_OFED_LINUX-5.4-3.6.8.1")
	one(t, res, "mlnx-mlx5-core", doctor.OK)
	one(t, res, "mlnx-gcc", doctor.OK, "gcc 4.8.5")
	one(t, res, "mlnx-rdma-packages", doctor.Warn, "rdma-core 22.4-6.el7_9, librdmacm 22.4-6.el7_9", "rpm -e rdma-core librdmacm")
	one(t, res, "mlnx-driver", doctor.OK, "2 Mellanox function(s) on mlx5_core")
}

func TestChecksFirmwareStates(t *testing.T) {
	for _, c := range []struct {
		name, query string
		vfs         int
		st          doctor.Status
		want        string
	}{
		{"pending reboot", "mlxconfig-query-e-next.txt", 4, doctor.Warn, "reboot, or apply it now: mlxfwreset -d /dev/mst/mt4117_pciconf0 -y reset"},
		{"on", "mlxconfig-query-e-on.txt", 4, doctor.OK, "allows 4 VFs"},
		{"on but too few", "mlxconfig-query-e-on.txt", 6, doctor.Fail, "NUM_OF_VFS=6"},
		{"next boot off", "mlxconfig-query-e-nextoff.txt", 4, doctor.Warn, "not after the next boot"},
		{"no spec, off", "mlxconfig-query-e-off.txt", -1, doctor.Warn, "SR-IOV is off in the firmware"},
		{"no spec, on", "mlxconfig-query-e-on.txt", -1, doctor.OK, "current SRIOV_EN=True(1) NUM_OF_VFS=4"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := fixture.Host(t, "mlnx-cx4lx-off", "mlnx-cx4lx-on")
			f := runnertest.New(t).Tools("mlxfwreset")
			f.Expect(runnertest.Call{Argv: []string{"mst", "status", "-v"}, Output: output(t, "mst-status-v.txt")})
			f.Expect(runnertest.Call{Argv: queryMST, Output: output(t, c.query)})
			env := newEnv(h, f, specVFs(c.vfs))
			r := firmwareResult(context.Background(), env, Tools{Suite: "NVIDIA MFT", Config: "mlxconfig", Reset: "mlxfwreset", MST: "mst"}, mustCards(t, h)[0])
			if r.Status != c.st || !strings.Contains(r.Detail+" | "+r.Fix, c.want) {
				t.Errorf("%+v, want %s with %q", r, c.st, c.want)
			}
		})
	}
}

func mustCards(t *testing.T, h *host.Host) []Card {
	t.Helper()
	c, err := Discover(h)
	if err != nil || len(c) != 1 || len(c[0].PFs) != 2 {
		t.Fatalf("discover: %+v %v", c, err)
	}
	return c
}

func TestChecksVFOnVFIO(t *testing.T) {
	h := fixture.Host(t, "mlnx-cx4lx-off", "mlnx-cx4lx-on")
	pf := "/sys/devices/pci0000:00/0000:00:01.0/0000:03:00.0"
	vf := "/sys/devices/pci0000:00/0000:00:01.0/0000:03:00.2"
	writeHost(t, h, vf+"/vendor", "0x15b3\n")
	writeHost(t, h, "/sys/bus/pci/drivers/vfio-pci/new_id", "")
	for link, target := range map[string]string{
		pf + "/virtfn0":                     "../0000:03:00.2",
		vf + "/physfn":                      "../0000:03:00.0",
		vf + "/driver":                      "../../../../bus/pci/drivers/vfio-pci",
		"/sys/bus/pci/devices/0000:03:00.2": "../../../devices/pci0000:00/0000:00:01.0/0000:03:00.2",
	} {
		if err := os.Symlink(target, h.Path(link)); err != nil {
			t.Fatal(err)
		}
	}
	cards := mustCards(t, h)
	if len(cards[0].PFs[0].VFs) != 1 || cards[0].PFs[0].VFs[0] != (VF{PCI: "0000:03:00.2", Driver: "vfio-pci"}) {
		t.Fatalf("VFs %+v", cards[0].PFs[0].VFs)
	}
	rs := checkDriver(context.Background(), nil, cards)
	if len(rs) != 1 || rs[0].Status != doctor.Warn || !strings.Contains(rs[0].Detail, "0000:03:00.2 is bound to vfio-pci") ||
		!strings.Contains(rs[0].Fix, "echo 0000:03:00.2 > /sys/bus/pci/drivers/vfio-pci/unbind") {
		t.Errorf("%+v", rs)
	}
}

func TestChecksGCCAndTools(t *testing.T) {
	h := fixture.Host(t, "mlnx-cx4lx-off")
	cards := mustCards(t, h)
	f := runnertest.New(t)
	f.Expect(runnertest.Call{Argv: []string{"gcc", "--version"}, Output: "gcc (GCC) 11.4.1 20230605 (Red Hat 11.4.1-2)\n"})
	env := newEnv(h, f, spec.Default())
	if r := checkGCC(context.Background(), env, cards)[0]; r.Status != doctor.Warn || !strings.Contains(r.Detail, "gcc is 11.4.1 but the kernel was built with gcc 4.8.5") {
		t.Errorf("mismatch: %+v", r)
	}
	env.Run = runnertest.New(t)
	if r := checkGCC(context.Background(), env, cards)[0]; r.Status != doctor.Warn || !strings.Contains(r.Detail, "gcc is not installed") {
		t.Errorf("no gcc: %+v", r)
	}
	if r := checkTools(context.Background(), env, cards)[0]; r.Status != doctor.Warn || r.Fix != InstallHint {
		t.Errorf("no tools: %+v", r)
	}
	if r := checkOFEDInstalled(context.Background(), env, cards)[0]; r.Status != doctor.Warn || !strings.Contains(r.Fix, "--ofed-dir") {
		t.Errorf("no OFED: %+v", r)
	}
	os.RemoveAll(h.Path("/sys/module/mlx5_core"))
	if r := checkMlx5Core(context.Background(), env, cards)[0]; r.Status != doctor.Fail || r.Fix != "modprobe mlx5_core" {
		t.Errorf("no mlx5_core: %+v", r)
	}
}

func TestChecksIbdev2netdevTool(t *testing.T) {
	h := fixture.Host(t, "mlnx-cx4lx-off")
	f := runnertest.New(t)
	f.Expect(runnertest.Call{Argv: []string{"ibdev2netdev"}, Output: output(t, "ibdev2netdev.txt")})
	r := checkIBDev(context.Background(), newEnv(h, f, spec.Default()), nil)[0]
	if r.Status != doctor.OK || r.Detail != "mlx5_0 port 1 ==> enp3s0f0 (Up); mlx5_1 port 1 ==> enp3s0f1 (Down)" {
		t.Errorf("%+v", r)
	}
}

func TestChecksRDMAWithoutOFED(t *testing.T) {
	h := fixture.Host(t, "mlnx-cx4lx-off")
	f := runnertest.New(t)
	f.Expect(runnertest.Call{Argv: dpkgListArgv, Output: "rdma-core\t39.0-1\nibverbs-providers:amd64\t39.0-1\n"})
	r := checkRDMAPackages(context.Background(), newEnv(h, f, spec.Default()), nil)[0]
	if r.Status != doctor.OK || !strings.Contains(r.Detail, "apt-get remove rdma-core ibverbs-providers") {
		t.Errorf("%+v", r)
	}
}

func TestChecksFirmwareFixUnderLockdown(t *testing.T) {
	h := fixture.Host(t, "mlnx-cx4lx-off")
	writeHost(t, h, LockdownPath, "none [integrity] confidentiality\n")
	f := runnertest.New(t)
	f.Expect(runnertest.Call{Argv: queryPCI, Output: output(t, "mlxconfig-query-e-off.txt")})
	r := firmwareResult(context.Background(), newEnv(h, f, specVFs(4)), Tools{Suite: "NVIDIA MFT", Config: "mlxconfig"}, mustCards(t, h)[0])
	if r.Status != doctor.Fail || !strings.Contains(r.Fix, "kernel lockdown is [integrity]") {
		t.Errorf("%+v", r)
	}
}

func TestGCCPackage(t *testing.T) {
	for v, want := range map[string]string{"4.8.5": "gcc-4.8", "11.4.0": "gcc-11", "12.2.0": "gcc-12"} {
		if got := gccPackage(v); got != want {
			t.Errorf("%s: %s", v, got)
		}
	}
}
