package dpdkenv

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/photonctl/photonctl/pkg/doctor"
	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/runner"
	"github.com/photonctl/photonctl/pkg/spec"
	"github.com/photonctl/photonctl/pkg/sriov"
)

// DefaultProbeTime is how long the probe lets dpdk-testpmd run by default,
// from its launch (EAL's start included) to the SIGINT that stops it.
const DefaultProbeTime = 5 * time.Second

// Bounds of --probe-time: the probe holds the devices and hugepages that
// long.
const (
	MinProbeTime = time.Second
	MaxProbeTime = 10 * time.Minute
)

// probeKillAfter is how long timeout waits after SIGINT before SIGKILL
// (testpmd 22.11 finishes starting its ports after a SIGINT that comes
// during EAL's start, then quits).
var probeKillAfter = 10 * time.Second

// flowIsolateAll is the testpmd option the probe never runs without on a
// device the kernel shares: without it the ports take all the traffic of a
// PF the host uses, and the host's connections (the ssh session running
// photonctl) drop.
const flowIsolateAll = "--flow-isolate-all"

// ErrNoFlowIsolate: a testpmd command line without --flow-isolate-all on a
// device the kernel shares.
var ErrNoFlowIsolate = errors.New("dpdk-testpmd without --flow-isolate-all would take the traffic of a device the kernel shares")

// dpdkDrivers are the kernel drivers through which DPDK alone drives a
// device: no kernel interface shares its traffic.
var dpdkDrivers = map[string]bool{"vfio-pci": true, "uio_pci_generic": true, "igb_uio": true}

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

// ValidateProbeTime checks --probe-time. Errors are bad input.
func ValidateProbeTime(d time.Duration) error {
	if d < MinProbeTime || d > MaxProbeTime {
		return engine.BadInput("--probe-time %s: give %s to %s (how long dpdk-testpmd may take to start the ports, e.g. 60s under emulation)", secs(d), secs(MinProbeTime), secs(MaxProbeTime))
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

// probeDev is one probed device and whether the kernel shares it.
type probeDev struct {
	Addr   string
	Shared bool   // the kernel shares it, or it may: flow isolation is needed
	Why    string // said in the probe's detail
}

// classifyProbeDevice says whether the kernel shares the device: it has a
// kernel interface, or its driver is bifurcated (mlx5: the kernel keeps its
// interface beside DPDK). Only a device on vfio-pci, uio_pci_generic or
// igb_uio is DPDK's alone; anything else (another kernel driver, no driver,
// sysfs unreadable) is taken as shared, the safe side.
func classifyProbeDevice(h *host.Host, addr string) probeDev {
	addr = fullPCI(addr)
	d, err := readPCIDevice(h, addr)
	switch {
	case err != nil:
		return probeDev{addr, true, fmt.Sprintf("%s: cannot read it in /sys/bus/pci/devices (%s), so flow isolation is kept", addr, reason(err))}
	case sriov.Bifurcated(h, addr):
		return probeDev{addr, true, fmt.Sprintf("%s is a Mellanox port (bifurcated: the kernel keeps its interface beside DPDK), so flow isolation is needed", d.describe())}
	case len(d.Netdev) > 0:
		return probeDev{addr, true, fmt.Sprintf("%s has a kernel interface, so flow isolation is needed", d.describe())}
	case dpdkDrivers[d.Driver]:
		return probeDev{addr, false, fmt.Sprintf("%s is on %s: DPDK alone drives it, no flow isolation needed", addr, d.Driver)}
	case d.Driver == "":
		return probeDev{addr, true, fmt.Sprintf("%s has no driver (DPDK takes it on vfio-pci), so flow isolation is kept", addr)}
	}
	return probeDev{addr, true, fmt.Sprintf("%s is on the kernel driver %s, so flow isolation is kept", addr, d.Driver)}
}

// fullPCI is 0000:03:00.0 of 03:00.0.
func fullPCI(a string) string {
	a = strings.ToLower(a)
	if len(a) == len("03:00.0") {
		return "0000:" + a
	}
	return a
}

// needIsolation says whether any device is shared with the kernel, and
// why each device is what it is.
func needIsolation(h *host.Host, devices []string) (bool, []string) {
	isolate := false
	var why []string
	for _, a := range devices {
		d := classifyProbeDevice(h, a)
		isolate = isolate || d.Shared
		why = append(why, d.Why)
	}
	return isolate, why
}

// ProbeArgv is the probe's command line: testpmd (at the path given) on two
// online CPUs, in memory (no runtime files left behind), on the devices,
// with every port in rte_flow isolated mode when isolate, stopped with
// SIGINT after d from its launch.
func ProbeArgv(testpmd string, devices []string, lcores string, d time.Duration, isolate bool) []string {
	argv := []string{"timeout", "--signal=INT", "--kill-after=" + seconds(probeKillAfter), seconds(d),
		testpmd, "-l", lcores, "-n", "4", "--in-memory"}
	for _, dev := range devices {
		argv = append(argv, "-a", dev)
	}
	argv = append(argv, "--")
	if isolate {
		argv = append(argv, flowIsolateAll)
	}
	return append(argv, "--stats-period", "1")
}

// seconds is d as timeout(1) takes it: "5", "0.5".
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

// secs is d as --probe-time takes it and people read it: "5s", "60s".
func secs(d time.Duration) string { return seconds(d) + "s" }

// ealAllowed are the devices a testpmd command line allow-lists (-a, --allow,
// -w, --pci-whitelist, before "--"), and whether it has none, when testpmd
// takes every device it can.
func ealAllowed(argv []string) []string {
	var out []string
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		if a == "--" {
			break
		}
		for _, opt := range []string{"-a", "--allow", "-w", "--pci-whitelist"} {
			switch {
			case a == opt && i+1 < len(argv):
				i++
				out = append(out, argv[i])
			case strings.HasPrefix(a, opt+"=") && strings.HasPrefix(opt, "--"):
				out = append(out, strings.TrimPrefix(a, opt+"="))
			case len(opt) == 2 && strings.HasPrefix(a, opt) && len(a) > 2 && a[2] != '-':
				out = append(out, a[2:])
			default:
				continue
			}
			break
		}
	}
	return out
}

// checkProbeArgv refuses a testpmd command line whose application options
// (after "--") lack --flow-isolate-all when a device it allow-lists is
// shared with the kernel, or when it allow-lists none (testpmd then takes
// every device it can).
func checkProbeArgv(h *host.Host, argv []string) error {
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
	devs := ealAllowed(argv)
	if len(devs) == 0 {
		return fmt.Errorf("refusing to run %s: it allow-lists no device, so testpmd takes them all: %w", runner.Quote(argv), ErrNoFlowIsolate)
	}
	for _, d := range devs {
		if pd := classifyProbeDevice(h, strings.SplitN(d, ",", 2)[0]); pd.Shared {
			return fmt.Errorf("refusing to run %s: %s: %w", runner.Quote(argv), pd.Why, ErrNoFlowIsolate)
		}
	}
	return nil
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

// Probe runs dpdk-testpmd on the devices for d (from its launch) and reports
// whether the ports start. Every port is in rte_flow isolated mode when a
// device is shared with the kernel; on devices DPDK has alone (vfio-pci,
// uio) it runs without, and says so. It is the opt-in doctor --probe; it
// needs root and free hugepages.
func Probe(ctx context.Context, env *engine.Env, devices []string, d time.Duration) doctor.Result {
	r := doctor.Result{ID: IDProbe, Group: doctor.GroupDPDK}
	if err := ValidateProbeDevices(devices); err != nil {
		r.Status, r.Detail = doctor.Fail, err.Error()
		r.Fix = "photonctl doctor --probe with the dataplane's PCI addresses (lspci -D), e.g. 0000:03:00.0,0000:03:00.2"
		return r
	}
	if err := ValidateProbeTime(d); err != nil {
		r.Status, r.Detail = doctor.Fail, err.Error()
		r.Fix = "photonctl doctor --probe --probe-time 60s"
		return r
	}
	if env.Host.IsLive() && os.Geteuid() != 0 {
		r.Status, r.Detail = doctor.Skip, "not root: dpdk-testpmd needs root for hugepages and the devices; run photonctl doctor --probe as root"
		return r
	}
	testpmd, err := env.Run.LookPath("dpdk-testpmd")
	if err != nil {
		r.Status, r.Detail = doctor.Skip, "dpdk-testpmd is not installed (DPDK's app/, installed by ninja install; Debian: apt-get install dpdk)"
		return r
	}
	isolate, why := needIsolation(env.Host, devices)
	return runProbe(ctx, env, ProbeArgv(testpmd, devices, probeLcores(env.Host), d, isolate), devices, d, isolate, why)
}

func runProbe(ctx context.Context, env *engine.Env, argv []string, devices []string, d time.Duration, isolate bool, why []string) doctor.Result {
	r := doctor.Result{ID: IDProbe, Group: doctor.GroupDPDK}
	if err := checkProbeArgv(env.Host, argv); err != nil {
		r.Status, r.Detail = doctor.Fail, err.Error()
		r.Fix = "run dpdk-testpmd with -- " + flowIsolateAll + " on devices the kernel shares (photonctl doctor --probe always does)"
		return r
	}
	ctx, cancel := context.WithTimeout(ctx, d+probeKillAfter+20*time.Second)
	defer cancel()
	mode := "every port in rte_flow isolated mode"
	if !isolate {
		mode = "without flow isolation: " + strings.Join(why, "; ")
	}
	env.Progressf("probing %s with dpdk-testpmd for %s, %s", strings.Join(devices, ", "), secs(d), mode)
	out, err := env.Run.Run(ctx, argv...)
	// Exit code 124 is timeout stopping testpmd after d, as meant (137:
	// killed probeKillAfter later); judgeProbe reads the output whatever
	// the exit code.
	var re *runner.Error
	if errors.As(err, &re) && re.ExitCode < 0 && len(out) == 0 {
		r.Status, r.Detail = doctor.Skip, "cannot run dpdk-testpmd: "+err.Error()
		return r
	}
	res := judgeProbe(out, err, devices, d)
	if res.Status == doctor.OK && !isolate {
		res.Detail += "; " + strings.Join(why, "; ")
	}
	return res
}

var (
	portUpRe   = regexp.MustCompile(`(?m)^Port (\d+): ([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5})\s*$`)
	isolateBad = regexp.MustCompile(`(?im)^.*(isolated mode|flow isolat).*(fail|error|not supported|cannot).*$|^.*(fail|error|cannot).*(isolated mode|flow isolat).*$`)
	startBad   = regexp.MustCompile(`(?m)^.*Fail(ed)? to (start|configure) port.*$`)
	isolatedOK = regexp.MustCompile(`(?m)^Ingress traffic on port \d+ is now restricted to the defined flow rules`)
)

// timedOut says whether testpmd was stopped for time: timeout(1)'s exit
// code 124 (SIGINT after the probe time), or SIGKILL probeKillAfter later
// (timeout sends it to its whole process group, itself included: killed
// by SIGKILL; 137 with --foreground).
func timedOut(err error) bool {
	var re *runner.Error
	if errors.As(err, &re) && (re.ExitCode == 124 || re.ExitCode == 137) {
		return true
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		ws, ok := ee.Sys().(syscall.WaitStatus)
		return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
	}
	return false
}

// longerProbeTime is the --probe-time to suggest after d ran out.
func longerProbeTime(d time.Duration) time.Duration {
	if d < time.Minute {
		return time.Minute
	}
	return min(2*d, MaxProbeTime)
}

// judgeProbe reads testpmd's output; d is the probe time it had.
func judgeProbe(out []byte, err error, devices []string, d time.Duration) doctor.Result {
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
		r.Fix = "use a NIC whose PMD supports rte_flow isolation (mlx5: ConnectX-4 or later) for a PF shared with the kernel, or give the dataplane an idle VF on vfio-pci, which needs none"
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
	stopped := timedOut(err)
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
		mode := ""
		if isolatedOK.MatchString(s) {
			mode = " in rte_flow isolated mode"
		}
		r.Status = doctor.OK
		r.Detail = fmt.Sprintf("dpdk-testpmd started %s on %s%s within %s", strings.Join(parts, ", "), devs, mode, secs(d))
		return r
	}
	longer := "photonctl doctor --probe --probe-time " + secs(longerProbeTime(d))
	r.Status = doctor.Fail
	if stopped && len(ports) == 0 {
		r.Detail = fmt.Sprintf("dpdk-testpmd on %s was stopped after %s, before any port started (its last line: %s): DPDK's start (hugepages, probing the devices) took longer than that, as under emulation (QEMU without KVM)", devs, secs(d), lastLine(out, nil))
		r.Fix = longer + " (a longer time to start the ports)"
		return r
	}
	r.Detail = fmt.Sprintf("dpdk-testpmd on %s started %d of %d ports: %s", devs, len(ports), len(devices), lastLine(out, err))
	r.Fix = "read the EAL lines of dpdk-testpmd's output (photonctl doctor --probe -v); check free hugepages (hugepages checks) and that the devices are the dataplane's"
	if stopped {
		r.Detail = fmt.Sprintf("dpdk-testpmd on %s was stopped after %s with %d of %d ports started: %s", devs, secs(d), len(ports), len(devices), lastLine(out, nil))
		r.Fix += "; or give it longer: " + longer
	}
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
