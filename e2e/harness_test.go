package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// suite is one run of the scenarios: the image, the photonctl under test,
// and the folder that keeps every guest's console (kept on failure).
type suite struct {
	t      *testing.T
	img    *Image
	dir    string
	bin    string // photonctl for the guest, when no package is given
	deb    string // or the .deb to install in it
	phases []string
}

// needs skips the test, saying why, where the suite cannot run here.
func needs(t *testing.T) {
	t.Helper()
	if os.Getenv("PHOTONCTL_E2E") != "1" {
		t.Skip("the QEMU guest suite runs with PHOTONCTL_E2E=1 (make e2e): it boots a guest for about 20 minutes")
	}
	if os.Geteuid() != 0 {
		t.Skip("the QEMU guest suite needs root (debootstrap builds the guest image)")
	}
	for _, tool := range []string{"qemu-system-x86_64", "qemu-img", "debootstrap", "mke2fs", "sfdisk", "ssh", "ssh-keygen"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the QEMU guest suite needs %s (make e2e-deps installs it)", tool)
		}
	}
	major, minor, err := QEMUVersion()
	if err != nil {
		t.Skipf("the QEMU guest suite cannot tell QEMU's version: %v", err)
	}
	if major < 8 {
		t.Skipf("the QEMU guest suite needs QEMU >= 8 for the igb SR-IOV NIC; this is %d.%d (Debian 12: bookworm-backports; make e2e-deps)", major, minor)
	}
}

func newSuite(t *testing.T) *suite {
	needs(t)
	cache := envOr("E2E_CACHE", "/var/cache/photonctl/e2e")
	mirror := os.Getenv("E2E_MIRROR")
	if mirror == "" {
		var err error
		if mirror, err = DebianMirror("/", Suite); err != nil {
			t.Fatal(err)
		}
	}
	s := &suite{t: t}
	start := time.Now()
	img, err := EnsureImage(t.Context(), cache, "image", mirror, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	s.img = img
	s.note("image", start)
	s.dir, err = os.MkdirTemp(cache, "run-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the guests' consoles and overlays are kept in %s", s.dir)
		} else {
			os.RemoveAll(s.dir)
		}
		t.Logf("timings:\n  %s", strings.Join(s.phases, "\n  "))
	})
	s.deb = os.Getenv("PHOTONCTL_DEB")
	s.bin = os.Getenv("PHOTONCTL_BIN")
	if s.deb == "" && s.bin == "" {
		t.Fatal("give the photonctl to test: PHOTONCTL_DEB=path.deb or PHOTONCTL_BIN=path (make e2e sets one)")
	}
	return s
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func (s *suite) note(phase string, start time.Time) {
	line := fmt.Sprintf("%-40s %s", phase, time.Since(start).Round(time.Second))
	s.phases = append(s.phases, line)
	s.t.Log("phase done: " + line)
}

// vm is one guest of a scenario: its machine, its client, its overlay.
type vm struct {
	s       *suite
	name    string
	cfg     MachineConfig
	m       *Machine
	g       *Guest
	console string
}

// boot creates a fresh overlay and boots it with the igb behind port.
func (s *suite) boot(name, port string) *vm {
	s.t.Helper()
	start := time.Now()
	v := s.bootBare(name, port)
	v.install()
	s.note(name+": boot and install photonctl", start)
	return v
}

// bootBare is boot without installing photonctl: for a test that installs
// it its own way (TestAnsible: the role installs the package).
func (s *suite) bootBare(name, port string) *vm {
	s.t.Helper()
	return s.bootBareWith(name, port, nil)
}

// bootBareWith is bootBare with the machine changed by edit first (a tap
// network for the igb: TestFstack).
func (s *suite) bootBareWith(name, port string, edit func(*MachineConfig)) *vm {
	s.t.Helper()
	v := &vm{s: s, name: name, console: filepath.Join(s.dir, name+".console.log")}
	overlay := filepath.Join(s.dir, name+".qcow2")
	if err := Overlay(s.img, overlay); err != nil {
		s.t.Fatal(err)
	}
	sshPort, err1 := FreePort()
	echoPort, err2 := FreePort()
	if err1 != nil || err2 != nil {
		s.t.Fatalf("no free port on 127.0.0.1: %v %v", err1, err2)
	}
	v.cfg = MachineConfig{Overlay: overlay, Console: v.console, IGBPort: port,
		SSHPort: sshPort, EchoPort: echoPort, Memory: 2048, CPUs: 2}
	if edit != nil {
		edit(&v.cfg)
	}
	v.g = &Guest{Port: sshPort, Key: s.img.Key}
	v.start()
	s.t.Cleanup(func() {
		if v.m != nil {
			v.m.Stop()
		}
	})
	return v
}

func (v *vm) start() {
	v.s.t.Helper()
	m, err := Start(v.cfg)
	if err != nil {
		v.s.t.Fatal(err)
	}
	v.m = m
	if err := v.g.WaitUp(6 * time.Minute); err != nil {
		v.fatalf("boot: %v", err)
	}
}

// fatalf fails the scenario naming the phase, with the console's tail.
func (v *vm) fatalf(format string, args ...any) {
	v.s.t.Helper()
	v.s.t.Fatalf("%s: %s\n--- the guest's console (last lines of %s):\n%s", v.name, fmt.Sprintf(format, args...), v.console, consoleTail(v.console, 40))
}

// phase runs one step of a scenario, timed; its failure names it.
func (v *vm) phase(name string, f func() error) {
	v.s.t.Helper()
	start := time.Now()
	v.s.t.Logf("%s: phase %q", v.name, name)
	if err := f(); err != nil {
		v.fatalf("phase %q failed: %v", name, err)
	}
	v.s.note(v.name+": "+name, start)
}

func (v *vm) install() {
	v.s.t.Helper()
	var err error
	if v.s.deb != "" {
		var b []byte
		if b, err = os.ReadFile(v.s.deb); err == nil {
			if err = v.g.Put(b, "/root/photonctl.deb", "644"); err == nil {
				_, err = v.g.Must(3*time.Minute, "dpkg -i /root/photonctl.deb && photonctl --version")
			}
		}
	} else {
		var b []byte
		if b, err = os.ReadFile(v.s.bin); err == nil {
			err = v.g.Put(b, "/usr/local/bin/photonctl", "755")
		}
	}
	if err != nil {
		v.fatalf("installing photonctl in the guest: %v", err)
	}
}

// photonctl runs photonctl in the guest with args (shell-quoted by the caller).
func (v *vm) photonctl(d time.Duration, args string) (Result, error) {
	return v.g.Run(d, nil, "photonctl "+args)
}

// setup runs setup with -o json and returns its report and exit code.
func (v *vm) setup(args string) (setupReport, Result, error) {
	var rep setupReport
	r, err := v.photonctl(15*time.Minute, "setup --yes -o json "+args)
	if err != nil {
		return rep, r, err
	}
	if jerr := json.Unmarshal([]byte(r.Stdout), &rep); jerr != nil {
		return rep, r, fmt.Errorf("setup %s: its JSON: %v\n%s", args, jerr, r)
	}
	return rep, r, nil
}

// setupWants runs setup and fails unless it exits want; exit 3 (a reboot
// is owed) must also say reboot_required in its JSON. when says where in
// the scenario this is, for the error.
func (v *vm) setupWants(args string, want int, when string) (setupReport, error) {
	rep, r, err := v.setup(args)
	if err != nil {
		return rep, err
	}
	if r.Exit != want || (want == 3 && !rep.RebootRequired) {
		return rep, fmt.Errorf("setup %s %s: want exit %d, got %s", args, when, want, r)
	}
	return rep, nil
}

type setupReport struct {
	RebootRequired bool `json:"reboot_required"`
	Steps          []struct {
		Name    string            `json:"name"`
		Status  string            `json:"status"`
		Message string            `json:"message"`
		Changes []json.RawMessage `json:"changes"`
	} `json:"steps"`
}

type doctorReport struct {
	Checks []doctorCheck `json:"checks"`
}

type doctorCheck struct {
	ID     string `json:"id"`
	Group  string `json:"group"`
	Status string `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix"`
}

func (v *vm) doctor(args string) (doctorReport, error) {
	var rep doctorReport
	r, err := v.photonctl(5*time.Minute, "doctor -o json "+args)
	if err != nil {
		return rep, err
	}
	if r.Exit != 0 && r.Exit != 1 {
		return rep, fmt.Errorf("doctor exited %d: %s", r.Exit, r)
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		return rep, fmt.Errorf("doctor's JSON: %v\n%s", err, r)
	}
	return rep, nil
}

// nics maps each PCI NIC's MAC to its name and PCI address in the guest.
type nic struct{ Name, PCI string }

func (v *vm) nics() (map[string]nic, error) {
	out, err := v.g.Must(30*time.Second, `for d in /sys/class/net/*; do [ -e "$d/device" ] && [ ! -e "$d/device/physfn" ] || continue; dev=$(readlink -f $d/device); case $(basename $dev) in virtio*) dev=$(dirname $dev);; esac; echo "$(cat $d/address) $(basename $d) $(basename $dev)"; done`)
	if err != nil {
		return nil, err
	}
	m := map[string]nic{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(l)
		if len(f) == 3 {
			m[f[0]] = nic{Name: f[1], PCI: f[2]}
		}
	}
	if _, ok := m[MgmtMAC]; !ok {
		return nil, fmt.Errorf("no NIC with the management MAC %s in the guest: %q", MgmtMAC, out)
	}
	if _, ok := m[IGBMAC]; !ok {
		return nil, fmt.Errorf("no NIC with the igb's MAC %s in the guest: %q", IGBMAC, out)
	}
	return m, nil
}

// read returns a guest file's content, trimmed.
func (v *vm) read(path string) (string, error) {
	out, err := v.g.Must(30*time.Second, "cat "+path)
	return strings.TrimSpace(out), err
}

// tokens reports which of want are missing from the whitespace-separated
// tokens of s (whole tokens: iommu=pt is not in iommu=ptx).
func missingTokens(s string, want ...string) []string {
	have := map[string]bool{}
	for _, f := range strings.Fields(s) {
		have[f] = true
	}
	var miss []string
	for _, w := range want {
		if !have[w] {
			miss = append(miss, w)
		}
	}
	return miss
}

func hasAnyToken(s string, want ...string) []string {
	var found []string
	for _, w := range want {
		if len(missingTokens(s, w)) == 0 {
			found = append(found, w)
		}
	}
	return found
}

// grubLinuxLines returns the kernel lines of the generated grub.cfg.
func (v *vm) grubLinuxLines() ([]string, error) {
	out, err := v.g.Must(30*time.Second, `grep -E '^[[:space:]]*linux[[:space:]]' /boot/grub/grub.cfg`)
	if err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimSpace(out), "\n"), nil
}

// grubDefaultCmdline is GRUB_CMDLINE_LINUX as /bin/sh reads the file.
func (v *vm) grubDefaultCmdline() (string, error) {
	out, err := v.g.Must(30*time.Second, `. /etc/default/grub; echo "$GRUB_CMDLINE_LINUX"`)
	return strings.TrimSpace(out), err
}

func jsonLine(b []byte) string { return string(bytes.TrimSpace(b)) }
