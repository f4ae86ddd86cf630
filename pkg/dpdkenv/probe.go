package dpdkenv

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/photonctl/photonctl/pkg/doctor"
	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/runner"
	"github.com/photonctl/photonctl/pkg/spec"
)

// ProbeSeconds is how long the probe lets dpdk-testpmd forward.
const ProbeSeconds = 5

// flowIsolateAll is the testpmd option the probe never runs without: without
// it the ports take all the traffic of a PF the host uses, and the host's
// connections (the ssh session running photonctl) drop.
const flowIsolateAll = "--flow-isolate-all"

// ErrNoFlowIsolate: a testpmd command line without --flow-isolate-all.
var ErrNoFlowIsolate = errors.New("dpdk-testpmd without --flow-isolate-all would take the PF's traffic from the kernel")

// ValidateProbeDevices checks the devices given to the probe: PCI addresses,
// at least one. Errors are bad input.
func ValidateProbeDevices(devices []string) error {
	if len(devices) == 0 {
		return engine.BadInput("--probe needs the devices to start: give PCI addresses such as 0000:03:00.0, or set pci_whitelist in f-stack.conf")
	}
	for _, d := range devices {
		if !spec.IsPCIAddress(d) {
			return engine.BadInput("probe device %q is not a PCI address such as 0000:03:00.0", d)
		}
	}
	return nil
}

// ProbeDevices are the devices f-stack.conf allow-lists, the probe's default.
func ProbeDevices(env *engine.Env) ([]string, error) {
	p, conf, err := fstackConf(env.Host, env.Spec)
	if err != nil {
		return nil, fmt.Errorf("reading the allow-listed devices from %s: %w", p, err)
	}
	return allowList(conf), nil
}

// ProbeArgv is the probe's command line: testpmd on two online CPUs, in
// memory (no runtime files left behind), on the devices, with every port in
// rte_flow isolated mode, stopped with SIGINT after ProbeSeconds.
func ProbeArgv(devices []string, lcores string) []string {
	argv := []string{"timeout", "--signal=INT", "--kill-after=10", strconv.Itoa(ProbeSeconds),
		"dpdk-testpmd", "-l", lcores, "-n", "4", "--in-memory"}
	for _, d := range devices {
		argv = append(argv, "-a", d)
	}
	return append(argv, "--", flowIsolateAll, "--stats-period", "1")
}

// checkProbeArgv refuses a testpmd command line whose application options
// (after "--") lack --flow-isolate-all.
func checkProbeArgv(argv []string) error {
	app := false
	for _, a := range argv {
		if a == "--" {
			app = true
			continue
		}
		if app && a == flowIsolateAll {
			return nil
		}
	}
	return fmt.Errorf("refusing to run %s: %w", runner.Quote(argv), ErrNoFlowIsolate)
}

// probeLcores are the first two online CPUs ("0-1" when unknown).
func probeLcores(h *host.Host) string {
	on, err := readCPUList(h, cpuOnline)
	if err != nil || len(on) == 0 {
		return "0-1"
	}
	cpus := on.sorted()
	if len(cpus) == 1 {
		return strconv.Itoa(cpus[0])
	}
	return fmt.Sprintf("%d,%d", cpus[0], cpus[1])
}

// Probe runs dpdk-testpmd on the devices for a few seconds, every port in
// rte_flow isolated mode, and reports whether the ports start. It is the
// opt-in doctor --probe; it needs root and free hugepages.
func Probe(ctx context.Context, env *engine.Env, devices []string) doctor.Result {
	r := doctor.Result{ID: IDProbe, Group: doctor.GroupDPDK}
	if err := ValidateProbeDevices(devices); err != nil {
		r.Status, r.Detail = doctor.Fail, err.Error()
		r.Fix = "photonctl doctor --probe with the dataplane's PCI addresses (lspci -D), e.g. 0000:03:00.0,0000:03:00.2"
		return r
	}
	if env.Host.IsLive() && os.Geteuid() != 0 {
		r.Status, r.Detail = doctor.Skip, "not root: dpdk-testpmd needs root for hugepages and the devices; run photonctl doctor --probe as root"
		return r
	}
	if _, err := env.Run.LookPath("dpdk-testpmd"); err != nil {
		r.Status, r.Detail = doctor.Skip, "dpdk-testpmd is not installed (DPDK's app/, installed by ninja install)"
		return r
	}
	return runProbe(ctx, env, ProbeArgv(devices, probeLcores(env.Host)), devices)
}

func runProbe(ctx context.Context, env *engine.Env, argv []string, devices []string) doctor.Result {
	r := doctor.Result{ID: IDProbe, Group: doctor.GroupDPDK}
	if err := checkProbeArgv(argv); err != nil {
		r.Status, r.Detail = doctor.Fail, err.Error()
		r.Fix = "run dpdk-testpmd with -- " + flowIsolateAll + " (photonctl doctor --probe always does)"
		return r
	}
	ctx, cancel := context.WithTimeout(ctx, (ProbeSeconds+20)*time.Second)
	defer cancel()
	env.Progressf("probing %s with dpdk-testpmd for %d seconds", strings.Join(devices, ", "), ProbeSeconds)
	out, err := env.Run.Run(ctx, argv...)
	// Exit code 124 is timeout stopping testpmd after ProbeSeconds, as
	// meant; judgeProbe reads the output whatever the exit code.
	var re *runner.Error
	if errors.As(err, &re) && re.ExitCode < 0 && len(out) == 0 {
		r.Status, r.Detail = doctor.Skip, "cannot run dpdk-testpmd: "+err.Error()
		return r
	}
	return judgeProbe(out, err, devices)
}

var (
	portUpRe   = regexp.MustCompile(`(?m)^Port (\d+): ([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5})\s*$`)
	isolateBad = regexp.MustCompile(`(?im)^.*(isolated mode|flow isolat).*(fail|error|not supported|cannot).*$|^.*(fail|error|cannot).*(isolated mode|flow isolat).*$`)
	startBad   = regexp.MustCompile(`(?m)^.*Fail(ed)? to (start|configure) port.*$`)
)

// judgeProbe reads testpmd's output.
func judgeProbe(out []byte, err error, devices []string) doctor.Result {
	r := doctor.Result{ID: IDProbe, Group: doctor.GroupDPDK}
	s := string(out)
	devs := strings.Join(devices, ", ")
	switch {
	case strings.Contains(s, "No probed ethernet devices"):
		r.Status = doctor.Fail
		r.Detail = fmt.Sprintf("dpdk-testpmd on %s: No probed ethernet devices", devs)
		r.Fix = "install libibverbs and libmlx5 (rdma-core or MLNX_OFED --dpdk --upstream-libs) and rebuild DPDK with the mlx5 PMD, or bind the devices to vfio-pci for other NICs; see the mlx5-userspace check"
		return r
	case isolateBad.MatchString(s):
		r.Status = doctor.Fail
		r.Detail = fmt.Sprintf("dpdk-testpmd on %s: a port refused rte_flow isolated mode: %s", devs, strings.TrimSpace(isolateBad.FindString(s)))
		r.Fix = "use a NIC whose PMD supports rte_flow isolation (mlx5: ConnectX-4 or later) for a PF shared with the kernel"
		return r
	case startBad.MatchString(s):
		r.Status = doctor.Fail
		r.Detail = fmt.Sprintf("dpdk-testpmd on %s: %s", devs, strings.TrimSpace(startBad.FindString(s)))
		r.Fix = "read the EAL lines of dpdk-testpmd's output (photonctl doctor --probe -v); check free hugepages and the mlx5-userspace check"
		return r
	}
	ports := map[string]string{}
	for _, m := range portUpRe.FindAllStringSubmatch(s, -1) {
		ports[m[1]] = m[2]
	}
	if len(ports) >= len(devices) {
		ids := make([]string, 0, len(ports))
		for id := range ports {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		var parts []string
		for _, id := range ids {
			parts = append(parts, fmt.Sprintf("port %s %s", id, strings.ToLower(ports[id])))
		}
		r.Status = doctor.OK
		r.Detail = fmt.Sprintf("dpdk-testpmd started %s on %s in rte_flow isolated mode and forwarded for %d seconds", strings.Join(parts, ", "), devs, ProbeSeconds)
		return r
	}
	r.Status = doctor.Fail
	r.Detail = fmt.Sprintf("dpdk-testpmd on %s started %d of %d ports: %s", devs, len(ports), len(devices), lastLine(out, err))
	r.Fix = "read the EAL lines of dpdk-testpmd's output (photonctl doctor --probe -v); check free hugepages (hugepages checks) and that the devices are the dataplane's"
	return r
}

// lastLine is the last non-empty output line, or the error.
func lastLine(out []byte, err error) string {
	last := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); t != "" {
			last = t
		}
	}
	if last == "" && err != nil {
		return err.Error()
	}
	if last == "" {
		return "no output"
	}
	return last
}
