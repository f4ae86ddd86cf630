package dpdkenv

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/doctor"
	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/runner/runnertest"
	"github.com/photonctl/photonctl/pkg/spec"
)

// testpmd output, modelled on dpdk-testpmd 20.11 on a ConnectX-4 Lx PF and
// one of its VFs (mlx5 PMD), stopped by SIGINT.
const testpmdOK = `EAL: Detected 4 lcore(s)
EAL: Detected 1 NUMA nodes
EAL: Selected IOVA mode 'VA'
EAL: No available hugepages reported in hugepages-1048576kB
EAL: Probing VFIO support...
EAL: Probe PCI driver: mlx5_pci (15b3:1015) device: 0000:03:00.0 (socket 0)
EAL: Probe PCI driver: mlx5_pci (15b3:1016) device: 0000:03:00.2 (socket 0)
testpmd: create a new mbuf pool <mb_pool_0>: n=155456, size=2176, socket=0
testpmd: preferred mempool ops selected: ring_mp_mc
Ingress traffic on port 0 is now restricted to the defined flow rules
Ingress traffic on port 1 is now restricted to the defined flow rules
Configuring Port 0 (socket 0)
Port 0: 00:02:C9:FA:C3:50
Configuring Port 1 (socket 0)
Port 1: 5A:9B:3C:11:22:33
Checking link statuses...
Done
No commandline core given, start packet forwarding
io packet forwarding - ports=2 - cores=1 - streams=2 - NUMA support enabled, MP allocation mode: native

Signal 2 received, preparing to exit...
Stopping port 0...
Stopping port 1...
Bye...
`

const testpmdNoDevices = `EAL: Detected 4 lcore(s)
EAL: Detected 1 NUMA nodes
EAL: Probing VFIO support...
EAL: Probe PCI driver: mlx5_pci (15b3:1015) device: 0000:03:00.0 (socket 0)
mlx5_pci: cannot load glue library: libibverbs.so.1: cannot open shared object file: No such file or directory
mlx5_pci: cannot initialize PMD due to missing run-time dependency on rdma-core libraries (libibverbs, libmlx5)
EAL: Requested device 0000:03:00.0 cannot be used
testpmd: No probed ethernet devices
EAL: Error - exiting with code: 1
  Cause: No probed ethernet devices
`

const testpmdNoIsolate = `EAL: Detected 4 lcore(s)
EAL: Probe PCI driver: net_i40e (8086:1572) device: 0000:05:00.0 (socket 0)
testpmd: create a new mbuf pool <mb_pool_0>: n=155456, size=2176, socket=0
Caught PMD error type 1 (cause unspecified): isolated mode not supported: Function not implemented
Failed to apply isolated mode on port 0
EAL: Error - exiting with code: 1
  Cause: Start ports failed
`

func probeEnv(t *testing.T, f *runnertest.Fake) *engine.Env {
	return &engine.Env{Host: fixture.Host(t, "dpdkenv-healthy"), Run: f, Spec: spec.Default()}
}

func TestProbeArgvAlwaysIsolates(t *testing.T) {
	argv := ProbeArgv([]string{"0000:03:00.0", "0000:03:00.2"}, "0,1")
	if err := checkProbeArgv(argv); err != nil {
		t.Fatalf("ProbeArgv is refused: %v", err)
	}
	i := slices.Index(argv, "--")
	if i < 0 || !slices.Contains(argv[i:], "--flow-isolate-all") || slices.Contains(argv[:i], "--flow-isolate-all") {
		t.Errorf("--flow-isolate-all must be an application option (after --): %q", argv)
	}
	for _, bad := range [][]string{
		{"dpdk-testpmd", "-a", "0000:03:00.0", "--", "-i"},
		{"dpdk-testpmd", "--flow-isolate-all", "-a", "0000:03:00.0"}, // an EAL option there, not testpmd's
		{"dpdk-testpmd", "-a", "0000:03:00.0", "--", "--flow-isolate-allx"},
	} {
		if err := checkProbeArgv(bad); !errors.Is(err, ErrNoFlowIsolate) {
			t.Errorf("checkProbeArgv(%q) = %v, want ErrNoFlowIsolate", bad, err)
		}
	}
}

// TestProbeRefusesWithoutIsolation: the strict fake has no call registered,
// so any command run fails the test.
func TestProbeRefusesWithoutIsolation(t *testing.T) {
	f := runnertest.New(t).Tools("dpdk-testpmd")
	env := probeEnv(t, f)
	r := runProbe(context.Background(), env, []string{"dpdk-testpmd", "-a", "0000:03:00.0", "--", "-i"}, []string{"0000:03:00.0"})
	if r.Status != doctor.Fail || !strings.Contains(r.Detail, "refusing to run") || r.Fix == "" {
		t.Errorf("got %+v, want a refusal", r)
	}
	if len(f.Log()) != 0 {
		t.Errorf("commands ran: %q", f.Log())
	}
}

func TestProbe(t *testing.T) {
	devs := []string{"0000:03:00.0", "0000:03:00.2"}
	argv := ProbeArgv(devs, "0,1") // the fixture has CPUs 0-3 online
	cases := []struct {
		name   string
		devs   []string
		out    string
		exit   int
		tools  bool
		call   bool
		want   doctor.Status
		detail string
	}{
		{"ports start", devs, testpmdOK, 124, true, true, doctor.OK, "started port 0 00:02:c9:fa:c3:50, port 1 5a:9b:3c:11:22:33"},
		{"no probed devices", devs, testpmdNoDevices, 1, true, true, doctor.Fail, "No probed ethernet devices"},
		{"isolation refused", devs, testpmdNoIsolate, 1, true, true, doctor.Fail, "refused rte_flow isolated mode: Caught PMD error"},
		{"one port of two", devs, strings.Replace(testpmdOK, "Port 1: 5A:9B:3C:11:22:33\n", "", 1), 124, true, true, doctor.Fail, "started 1 of 2 ports"},
		{"testpmd not installed", devs, "", 0, false, false, doctor.Skip, "not installed"},
		{"no devices", nil, "", 0, true, false, doctor.Fail, "needs the devices"},
		{"not a PCI address", []string{"eth0"}, "", 0, true, false, doctor.Fail, `"eth0" is not a PCI address`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := runnertest.New(t)
			if c.tools {
				f.Tools("dpdk-testpmd")
			}
			if c.call {
				call := runnertest.Call{Argv: argv, Output: c.out}
				if c.exit != 0 {
					call.Err, call.ExitCode = errors.New("exit status"), c.exit
				}
				f.Expect(call)
			}
			r := Probe(context.Background(), probeEnv(t, f), c.devs)
			if r.Status != c.want || !strings.Contains(r.Detail, c.detail) {
				t.Errorf("got %s %q, want %s containing %q", r.Status, r.Detail, c.want, c.detail)
			}
			if (r.Status == doctor.Fail || r.Status == doctor.Warn) && r.Fix == "" {
				t.Errorf("%s without a fix", r.Status)
			}
			if r.ID != IDProbe || r.Group != doctor.GroupDPDK {
				t.Errorf("ID, group = %q, %q", r.ID, r.Group)
			}
		})
	}
}

func TestProbeDevicesFromConf(t *testing.T) {
	env := probeEnv(t, runnertest.New(t))
	got, err := ProbeDevices(env)
	if err != nil || !slices.Equal(got, []string{"0000:03:00.0", "0000:03:00.2"}) {
		t.Errorf("ProbeDevices = %q, %v", got, err)
	}
	if err := ValidateProbeDevices(got); err != nil {
		t.Error(err)
	}
	if err := ValidateProbeDevices([]string{"eth0"}); !engine.IsBadInput(err) {
		t.Errorf("ValidateProbeDevices(eth0) = %v, want bad input", err)
	}
}
