package e2e

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The guest's NICs, by their MACs (names come from udev in the guest).
const (
	MgmtMAC = "52:54:00:e2:e0:01" // virtio-net, SSH and the echo port forwarded
	IGBMAC  = "52:54:00:e2:e0:02" // igb: the 82576 with SR-IOV
)

// MachineConfig is one boot of the guest.
type MachineConfig struct {
	Overlay  string // qcow2 over the image's raw disk
	Console  string // the serial console, appended to
	IGBPort  string // the PCIe root port the igb sits behind: "rp2" or "rp3"
	SSHPort  int    // 127.0.0.1:SSHPort -> guest :22
	EchoPort int    // 127.0.0.1:EchoPort -> guest :8080
	Memory   int    // MiB
	CPUs     int
	// DPTap, when set, is the igb's network: a tap device's open queue
	// (TapNet), passed to QEMU as fd 3. Without it the igb is on a
	// user-mode network of its own that nothing outside reaches.
	DPTap *os.File
}

// Args is QEMU's command line for the machine: q35 with a split irqchip and
// an Intel IOMMU (interrupt remapping, caching mode) before any PCI device;
// three PCIe root ports, the management NIC behind the first and the igb
// behind the one cfg names; user-mode networks only, the forwarded ports on
// 127.0.0.1. TCG, not KVM: KVM stalls stock kernels early in boot on these
// machines. The CPU is a Nehalem with GenuineIntel as its vendor: photonctl
// picks the IOMMU arguments by vendor, and Debian's DPDK 22.11 is built for
// -march=corei7 (SSE4.2, POPCNT), which QEMU's default qemu64 lacks (a
// photonctl linked with F-Stack dies there on an illegal instruction).
func (c MachineConfig) Args(pidfile string) []string {
	return []string{
		"-name", "photonctl-e2e",
		"-machine", "q35,accel=tcg,kernel-irqchip=split",
		"-cpu", "Nehalem,vendor=GenuineIntel",
		"-smp", strconv.Itoa(c.CPUs), "-m", strconv.Itoa(c.Memory),
		"-display", "none", "-nodefaults", "-no-user-config",
		"-serial", "file:" + c.Console,
		"-pidfile", pidfile,
		"-device", "intel-iommu,intremap=on,caching-mode=on",
		"-device", "pcie-root-port,id=rp1,bus=pcie.0,chassis=1,addr=0x2",
		"-device", "pcie-root-port,id=rp2,bus=pcie.0,chassis=2,addr=0x3",
		"-device", "pcie-root-port,id=rp3,bus=pcie.0,chassis=3,addr=0x4",
		"-device", "virtio-net-pci,bus=rp1,mac=" + MgmtMAC + ",netdev=mgmt",
		"-netdev", fmt.Sprintf("user,id=mgmt,hostfwd=tcp:127.0.0.1:%d-:22,hostfwd=tcp:127.0.0.1:%d-:8080", c.SSHPort, c.EchoPort),
		"-device", "igb,bus=" + c.IGBPort + ",mac=" + IGBMAC + ",netdev=dp",
		"-netdev", c.dpNetdev(),
		"-drive", "file=" + c.Overlay + ",if=virtio,format=qcow2",
	}
}

// dpNetdev is the igb's network: the tap (fd 3 of QEMU, see Start) or a
// closed user-mode network.
func (c MachineConfig) dpNetdev() string {
	if c.DPTap != nil {
		return "tap,id=dp,fd=3"
	}
	return "user,id=dp,net=10.0.3.0/24,restrict=on"
}

// Machine is a running QEMU process.
type Machine struct {
	cfg  MachineConfig
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

var (
	liveMu sync.Mutex
	live   = map[*Machine]bool{}
)

// StopAll kills every machine still running: the suite's last word on
// interrupt, so no QEMU outlives it.
func StopAll() {
	liveMu.Lock()
	ms := make([]*Machine, 0, len(live))
	for m := range live {
		ms = append(ms, m)
	}
	liveMu.Unlock()
	for _, m := range ms {
		m.Stop()
	}
}

// Overlay creates a fresh qcow2 overlay over the image's raw disk: each
// scenario boots its own, and the image itself is never written.
func Overlay(img *Image, path string) error {
	out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", img.Disk, path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("qemu-img create %s: %w: %s", path, err, out)
	}
	return nil
}

// Start boots the machine. The QEMU process dies with the test binary
// (PR_SET_PDEATHSIG) even if nothing else stops it.
func Start(cfg MachineConfig) (*Machine, error) {
	pidfile := cfg.Overlay + ".pid"
	cmd := exec.Command("qemu-system-x86_64", cfg.Args(pidfile)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if cfg.DPTap != nil {
		cmd.ExtraFiles = []*os.File{cfg.DPTap} // fd 3, as dpNetdev says
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting qemu-system-x86_64: %w", err)
	}
	m := &Machine{cfg: cfg, cmd: cmd, done: make(chan struct{})}
	liveMu.Lock()
	live[m] = true
	liveMu.Unlock()
	go func() {
		err := cmd.Wait()
		if err != nil && stderr.Len() > 0 {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
		}
		m.err = err
		liveMu.Lock()
		delete(live, m)
		liveMu.Unlock()
		close(m.done)
	}()
	// QEMU fails fast on a bad command line; give it a moment to say so.
	select {
	case <-m.done:
		return nil, fmt.Errorf("qemu-system-x86_64 exited at once: %v", m.err)
	case <-time.After(500 * time.Millisecond):
	}
	return m, nil
}

// PID is QEMU's process ID.
func (m *Machine) PID() int { return m.cmd.Process.Pid }

// WaitExit waits up to d for QEMU to exit by itself (the guest powered off).
func (m *Machine) WaitExit(d time.Duration) error {
	select {
	case <-m.done:
		return nil
	case <-time.After(d):
		return fmt.Errorf("QEMU (pid %d) still running %s after the guest was told to power off", m.PID(), d)
	}
}

// Stop ends QEMU by its PID: SIGTERM, then SIGKILL after 10 s.
func (m *Machine) Stop() {
	select {
	case <-m.done:
		return
	default:
	}
	_ = syscall.Kill(m.PID(), syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(m.PID(), syscall.SIGKILL)
		<-m.done
	}
}

// FreePort returns a TCP port on 127.0.0.1 nothing listens on now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// QEMUVersion returns qemu-system-x86_64's major and minor version.
func QEMUVersion() (major, minor int, err error) {
	out, err := exec.Command("qemu-system-x86_64", "--version").Output()
	if err != nil {
		return 0, 0, fmt.Errorf("qemu-system-x86_64 --version: %w", err)
	}
	return ParseQEMUVersion(string(out))
}

// ParseQEMUVersion reads "QEMU emulator version 10.0.2 (Debian ...)".
func ParseQEMUVersion(s string) (major, minor int, err error) {
	const p = "QEMU emulator version "
	i := strings.Index(s, p)
	if i < 0 {
		return 0, 0, errors.New("no \"QEMU emulator version\" in its --version output")
	}
	v := strings.Fields(s[i+len(p):])
	if len(v) == 0 {
		return 0, 0, errors.New("no version after \"QEMU emulator version\"")
	}
	parts := strings.SplitN(v[0], ".", 3)
	if len(parts) < 2 {
		return 0, 0, fmt.Errorf("version %q is not MAJOR.MINOR", v[0])
	}
	if major, err = strconv.Atoi(parts[0]); err != nil {
		return 0, 0, fmt.Errorf("version %q: %w", v[0], err)
	}
	if minor, err = strconv.Atoi(parts[1]); err != nil {
		return 0, 0, fmt.Errorf("version %q: %w", v[0], err)
	}
	return major, minor, nil
}

// consoleTail returns the last lines of the serial console, for failures.
func consoleTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no console log: %v)", err)
	}
	return tail(b, n)
}
