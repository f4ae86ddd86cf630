package dpdkenv

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/doctor"
	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/golden"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/runner/runnertest"
	"github.com/photonctl/photonctl/pkg/spec"
)

const ffPath = "/root/f-stack-1.22"

var testOptions = Options{FFPath: ffPath}

// pkgConfig is what the fake pkg-config answers; an empty modversion makes
// it fail as pkg-config does for a package outside its search path.
type pkgConfig struct {
	missing    bool
	modversion string
	version    string
}

var healthyPC = pkgConfig{modversion: "20.11.0", version: "0.29.2"}

func (p pkgConfig) fake(t testing.TB) *runnertest.Fake {
	f := runnertest.New(t)
	if p.missing {
		return f
	}
	mod := runnertest.Call{Argv: []string{"pkg-config", "--modversion", "libdpdk"}, Output: p.modversion + "\n"}
	if p.modversion == "" {
		mod.Output = "Package libdpdk was not found in the pkg-config search path.\nPerhaps you should add the directory containing `libdpdk.pc'\nto the PKG_CONFIG_PATH environment variable\nNo package 'libdpdk' found\n"
		mod.Err, mod.ExitCode = errors.New("exit status 1"), 1
	}
	return f.Expect(mod).Expect(runnertest.Call{Argv: []string{"pkg-config", "--version"}, Output: p.version + "\n"})
}

// runChecks runs every check of the package as doctor does.
func runChecks(t testing.TB, h *host.Host, f *runnertest.Fake) []doctor.Result {
	t.Helper()
	env := &engine.Env{Host: h, Run: f, Spec: spec.Default()}
	rep, err := doctor.Run(context.Background(), env, ChecksWith(testOptions), nil)
	if err != nil {
		t.Fatal(err)
	}
	return rep.Checks
}

// want is the expected result of one check; the others must be ok.
type want struct {
	id     string
	status doctor.Status
	fix    string
}

func TestChecks(t *testing.T) {
	withLib := func(isolate bool) func(testing.TB, *host.Host) {
		return func(t testing.TB, h *host.Host) {
			writeHostFile(t, h, ffPath+"/lib/libfstack.a", fakeLibfstack(isolate))
		}
	}
	remove := func(paths ...string) func(testing.TB, *host.Host) {
		return func(t testing.TB, h *host.Host) {
			withLib(true)(t, h)
			for _, p := range paths {
				if err := os.Remove(h.Path(p)); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	cases := []struct {
		name     string
		fixtures []string // over dpdkenv-healthy
		setup    func(testing.TB, *host.Host)
		pc       pkgConfig
		want     []want
	}{
		{name: "healthy", setup: withLib(true), pc: healthyPC},
		{name: "dpdk-missing", setup: remove("/usr/local/lib64/pkgconfig/libdpdk.pc"), pc: pkgConfig{version: "0.29.2"},
			want: []want{{IDDPDKVersion, doctor.Fail, "install DPDK 20.11 for F-Stack 1.22: from dpdk-20.11, meson setup build && ninja -C build install; see docs/dpdk-toolchain.md"}}},
		{name: "dpdk-mismatch", fixtures: []string{"dpdkenv-dpdk-mismatch"}, setup: withLib(true), pc: pkgConfig{modversion: "21.11.2", version: "0.29.2"},
			want: []want{{IDDPDKVersion, doctor.Fail, "install DPDK 20.11 for F-Stack 1.22: from dpdk-20.11, meson setup build && ninja -C build install; see docs/dpdk-toolchain.md, or use F-Stack 1.23, which is built for DPDK 21.11"}}},
		{name: "dpdk-pc-outside-path", setup: withLib(true), pc: pkgConfig{version: "0.29.2"},
			want: []want{{IDDPDKPCPath, doctor.Warn, "export PKG_CONFIG_PATH=/usr/local/lib64/pkgconfig:$PKG_CONFIG_PATH before building F-Stack (or add /usr/local/lib64/pkgconfig to /etc/ld.so.conf.d and pkg-config's pc_path)"}}},
		{name: "pkg-config-missing", setup: withLib(true), pc: pkgConfig{missing: true},
			want: []want{{IDPkgConfig, doctor.Skip, ""}, {IDDPDKPCPath, doctor.Warn, "install pkg-config 0.29 or later (yum install pkgconfig, apt-get install pkg-config), then export PKG_CONFIG_PATH=/usr/local/lib64/pkgconfig:$PKG_CONFIG_PATH"}}},
		{name: "pkg-config-old", setup: withLib(true), pc: pkgConfig{modversion: "20.11.0", version: "0.27.1"},
			want: []want{{IDPkgConfig, doctor.Warn, "install pkg-config 0.29 or later, e.g. 0.29.2 from https://pkg-config.freedesktop.org/releases/ (./configure --with-internal-glib && make && make install)"}}},
		{name: "libfstack-missing", pc: healthyPC,
			want: []want{{IDLibfstack, doctor.Fail, "build and install F-Stack: cd /root/f-stack-1.22/lib && make && make install; see docs/dpdk-toolchain.md"}}},
		{name: "libfstack-corrupt", setup: func(t testing.TB, h *host.Host) {
			writeHostFile(t, h, ffPath+"/lib/libfstack.a", []byte("!<arch>\nff_dpdk_if.o/   0           0     0     644     9999      `\n"))
		}, pc: healthyPC,
			want: []want{{IDLibfstack, doctor.Fail, "rebuild and reinstall F-Stack: cd /root/f-stack-1.22/lib && make clean && make && make install"}}},
		{name: "flow-isolate-intel", fixtures: []string{"dpdkenv-flow-isolate-intel"}, setup: withLib(true), pc: healthyPC,
			want: []want{{IDFlowIsolate, doctor.Warn, "allow-list mlx5 ports in /etc/f-stack.conf pci_whitelist, or rebuild F-Stack without FF_FLOW_ISOLATE (lib/Makefile) and give the dataplane a NIC of its own"}}},
		{name: "no-isolate-shared-pf", setup: withLib(false), pc: healthyPC,
			want: []want{{IDFlowIsolate, doctor.Warn, "rebuild F-Stack with FF_FLOW_ISOLATE=1 in /root/f-stack-1.22/lib/Makefile (the dataplane then serves TCP port 80), or allow-list only an idle VF or a NIC of its own in /etc/f-stack.conf pci_whitelist"}}},
		{name: "mlx5-libs-missing", setup: remove("/usr/lib64/libmlx5.so.1", "/usr/lib64/libmlx5.so.1.19.32.0"), pc: healthyPC,
			want: []want{{IDMlx5Userspace, doctor.Fail, "install rdma-core's libraries (yum install rdma-core libibverbs; apt-get install ibverbs-providers libibverbs1) or MLNX_OFED with ./mlnxofedinstall --dpdk --upstream-libs, then rebuild DPDK so it builds the mlx5 PMD"}}},
		{name: "stale-files", fixtures: []string{"dpdkenv-stale-files"}, setup: withLib(true), pc: healthyPC,
			want: []want{{IDStaleFiles, doctor.Warn, "rm -f /dev/hugepages/rtemap_* && rm -rf /run/dpdk/rte"}}},
		{name: "stale-held", fixtures: []string{"dpdkenv-stale-files", "dpdkenv-stale-held"}, setup: withLib(true), pc: healthyPC},
		{name: "lcores-offline", fixtures: []string{"dpdkenv-lcores-offline"}, setup: withLib(true), pc: healthyPC,
			want: []want{{IDLcores, doctor.Fail, "set lcore_mask in /etc/f-stack.conf to online CPUs (0-1), or bring CPU 2 online: echo 1 > /sys/devices/system/cpu/cpu2/online"}}},
		{name: "lcores-split", fixtures: []string{"dpdkenv-lcores-split"}, setup: withLib(true), pc: healthyPC,
			want: []want{{IDLcores, doctor.Warn, "set lcore_mask in /etc/f-stack.conf to CPUs all inside the isolated set (2-3) or all outside it, or change isolcpus=/nohz_full= on the kernel command line"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := fixture.Host(t, append([]string{"dpdkenv-healthy"}, c.fixtures...)...)
			if c.setup != nil {
				c.setup(t, h)
			}
			got := runChecks(t, h, c.pc.fake(t))
			byID := map[string]doctor.Result{}
			for _, r := range got {
				if _, dup := byID[r.ID]; dup {
					t.Errorf("two results with ID %s", r.ID)
				}
				byID[r.ID] = r
				if r.Group != doctor.GroupDPDK {
					t.Errorf("%s: group %q", r.ID, r.Group)
				}
				if (r.Status == doctor.Warn || r.Status == doctor.Fail) && r.Fix == "" {
					t.Errorf("%s: %s without a fix", r.ID, r.Status)
				}
				if strings.Contains(r.Detail+r.Fix, h.Root()) {
					t.Errorf("%s names the test root: %s", r.ID, r.Detail)
				}
			}
			wanted := map[string]bool{}
			for _, w := range c.want {
				wanted[w.id] = true
				r, ok := byID[w.id]
				if !ok {
					t.Errorf("no result %s", w.id)
					continue
				}
				if r.Status != w.status || (w.fix != "" && r.Fix != w.fix) {
					t.Errorf("%s = %s\n  detail: %s\n  fix: %s\nwant %s\n  fix: %s", w.id, r.Status, r.Detail, r.Fix, w.status, w.fix)
				}
			}
			for _, r := range got {
				if !wanted[r.ID] && r.Status != doctor.OK {
					t.Errorf("%s = %s (%s), want ok", r.ID, r.Status, r.Detail)
				}
			}
			golden.Assert(t, "testdata/"+c.name+".golden", render(got))
		})
	}
}

// TestHealthyJSON is the healthy report as doctor --output json gives it.
func TestHealthyJSON(t *testing.T) {
	h := fixture.Host(t, "dpdkenv-healthy")
	writeHostFile(t, h, ffPath+"/lib/libfstack.a", fakeLibfstack(true))
	env := &engine.Env{Host: h, Run: healthyPC.fake(t), Spec: spec.Default()}
	rep, err := doctor.Run(context.Background(), env, ChecksWith(testOptions), []string{doctor.GroupDPDK})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed() || rep.Summary.OK != len(rep.Checks) || len(rep.Checks) != 7 {
		t.Errorf("summary %+v of %d results, want 7 ok", rep.Summary, len(rep.Checks))
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "testdata/healthy.json.golden", append(b, '\n'))
}

// TestFstackVersionFromSpec: --fstack-version wins over FF_PATH.
func TestFstackVersionFromSpec(t *testing.T) {
	h := fixture.Host(t, "dpdkenv-healthy")
	s := spec.Default()
	s.FstackVersion = "1.24"
	f := runnertest.New(t).Expect(runnertest.Call{Argv: []string{"pkg-config", "--modversion", "libdpdk"}, Output: "22.11.1\n"})
	rs := checkDPDK(context.Background(), &engine.Env{Host: h, Run: f, Spec: s}, testOptions)
	if len(rs) != 1 || rs[0].Status != doctor.OK || !strings.Contains(rs[0].Detail, "fits F-Stack 1.24 (--fstack-version)") {
		t.Errorf("got %+v", rs)
	}
	// Without FF_PATH nor the flag the match is not checked.
	f = runnertest.New(t).Expect(runnertest.Call{Argv: []string{"pkg-config", "--modversion", "libdpdk"}, Output: "22.11.1\n"})
	rs = checkDPDK(context.Background(), &engine.Env{Host: h, Run: f, Spec: spec.Default()}, Options{})
	if len(rs) != 1 || rs[0].Status != doctor.OK || !strings.Contains(rs[0].Detail, "match is not checked") {
		t.Errorf("got %+v", rs)
	}
}

func TestFstackVersionFromDirName(t *testing.T) {
	h := fixture.Host(t, "dpdkenv-healthy")
	if err := os.MkdirAll(h.Path("/opt/f-stack-1.25/lib"), 0o755); err != nil {
		t.Fatal(err)
	}
	v, from := fstackVersion(h, &engine.Env{Spec: spec.Default()}, Options{FFPath: "/opt/f-stack-1.25"})
	if v != "1.25" || from != "FF_PATH /opt/f-stack-1.25" {
		t.Errorf("fstackVersion = %q, %q", v, from)
	}
}
