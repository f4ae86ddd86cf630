package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/fstackconf"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/runner"
	"github.com/photonctl/photonctl/pkg/runner/runnertest"
)

func testConfig(t *testing.T) Config {
	c := DefaultConfig()
	c.Dir = filepath.Join(t.TempDir(), "lab")
	c.Prefix = fmt.Sprintf("ptl%d", os.Getpid())
	c.VethA, c.VethB = fmt.Sprintf("pta%d", os.Getpid()%100000), fmt.Sprintf("ptb%d", os.Getpid()%100000)
	return c
}

// TestRealLab builds a real lab on this machine and takes it down again.
func TestRealLab(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root: creates network namespaces and bind mounts")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip from iproute2")
	}
	h, _ := host.New("/")
	cfg := testConfig(t)
	cfg.Distro = "rhel9"
	l := New(h, runner.Exec{Root: "/"}, cfg)
	t.Cleanup(func() { l.Down(context.Background()) })
	s, err := l.Up(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p := l.Check(s); len(p) != 0 {
		t.Errorf("problems right after up: %v", p)
	}
	out, err := exec.Command("ip", "-n", s.NamespaceB(), "-o", "addr", "show", "dev", cfg.VethB).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "10.99.0.2/24") {
		t.Errorf("veth B: %v %s", err, out)
	}
	// The lab root sees the machine's sysfs and has the distro's own /etc.
	lr, _ := host.New(h.Path(s.Root))
	if !lr.Exists("/sys/kernel/mm") || !lr.Exists("/boot/loader/entries") {
		t.Error("the lab root lacks /sys or the RHEL 9 BLS entries")
	}
	if b, _ := lr.ReadFile("/etc/default/grub"); !strings.Contains(string(b), "GRUB_ENABLE_BLSCFG=true") {
		t.Errorf("lab grub: %s", b)
	}
	// Up again: the same lab, untouched.
	if s2, err := l.Up(context.Background()); err != nil || !s2.Created.Equal(s.Created) {
		t.Errorf("second up: %v", err)
	}
	if err := l.Down(context.Background()); err != nil {
		t.Fatal(err)
	}
	if l.nsExists(s.NamespaceA()) || l.nsExists(s.NamespaceB()) || len(l.mountsUnder(s.Root)) > 0 || h.Exists(s.Root) {
		t.Error("lab down left something behind")
	}
	if _, err := l.Load(); !errors.Is(err, ErrNotUp) {
		t.Errorf("state after down: %v", err)
	}
}

func TestRefusesNamespaceItDidNotCreate(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root: creates a network namespace")
	}
	h, _ := host.New("/")
	cfg := testConfig(t)
	ns := cfg.Prefix + "-a"
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Skipf("needs ip netns: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	l := New(h, runner.Exec{Root: "/"}, cfg)
	_, err := l.Up(context.Background())
	if err == nil || !strings.Contains(err.Error(), "this lab did not create it") {
		t.Fatalf("err = %v", err)
	}
	if !l.nsExists(ns) {
		t.Error("the lab removed a namespace it did not create")
	}
	if err := l.Down(context.Background()); !errors.Is(err, ErrNotUp) {
		t.Errorf("down with no lab: %v", err)
	}
}

// A failure halfway removes what was built, and only that.
func TestFailedUpCleansUp(t *testing.T) {
	root := t.TempDir()
	h, _ := host.New(root)
	cfg := testConfig(t)
	cfg.Dir = "/var/lib/photonctl/lab"
	fake := runnertest.New(t)
	a, b := cfg.Prefix+"-a", cfg.Prefix+"-b"
	for _, ns := range []string{a, b} {
		ns := ns
		fake.Expect(runnertest.Call{Argv: []string{"ip", "netns", "add", ns}, Do: func() {
			os.MkdirAll(h.Path("/run/netns"), 0o755)
			os.WriteFile(h.Path("/run/netns", ns), nil, 0o644)
		}})
		fake.Expect(runnertest.Call{Argv: []string{"ip", "-n", ns, "link", "set", "lo", "up"}})
		fake.Expect(runnertest.Call{Argv: []string{"ip", "netns", "del", ns}, Do: func() { os.Remove(h.Path("/run/netns", ns)) }})
	}
	fake.Expect(runnertest.Call{Argv: []string{"ip", "-n", a, "link", "add", cfg.VethA, "type", "veth", "peer", "name", cfg.VethB, "netns", b},
		Output: "RTNETLINK answers: Operation not supported", Err: errors.New("exit status 2"), ExitCode: 2})
	l := New(h, fake, cfg)
	l.mount = func(src, dst string) error { t.Errorf("unexpected mount of %s", src); return nil }
	_, err := l.Up(context.Background())
	if err == nil || !strings.Contains(err.Error(), "Operation not supported") || !strings.Contains(err.Error(), "ip -n "+a+" link add") {
		t.Fatalf("err = %v", err)
	}
	if h.Exists(cfg.Dir) || h.Exists("/run/netns/"+a) {
		t.Error("a failed lab up left its folder or a namespace behind")
	}
}

func TestUnknownDistro(t *testing.T) {
	h, _ := host.New(t.TempDir())
	cfg := testConfig(t)
	cfg.Distro = "gentoo"
	_, err := New(h, runnertest.New(t), cfg).Up(context.Background())
	if err == nil || !strings.Contains(err.Error(), "centos7, debian12, rhel9, ubuntu2204") {
		t.Errorf("err = %v", err)
	}
}

// An fstack lab: the veth end is in a bridge with no address (F-Stack owns
// it), and the lab's f-stack.conf passes photonctl's own checks.
func TestRealFstackLab(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root: creates network namespaces, a bridge and bind mounts")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip from iproute2")
	}
	h, _ := host.New("/")
	cfg := testConfig(t)
	cfg.Engine = EngineFstack
	cfg.FstackVersion = "1.24" // this machine may have no F-Stack to take it from
	l := New(h, runner.Exec{Root: "/"}, cfg)
	t.Cleanup(func() { l.Down(context.Background()) })
	s, err := l.Up(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ip", "-n", s.NamespaceA(), "-o", "link", "show", "dev", cfg.VethA).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "master "+Bridge) {
		t.Errorf("veth A not in the bridge: %v %s", err, out)
	}
	out, _ = exec.Command("ip", "-n", s.NamespaceA(), "-o", "-4", "addr", "show", "dev", cfg.VethA).CombinedOutput()
	if strings.Contains(string(out), "10.99.0.1") {
		t.Errorf("veth A holds F-Stack's address: %s", out)
	}
	b, err := h.ReadFile(s.Conf)
	if err != nil {
		t.Fatal(err)
	}
	f, err := fstackconf.ParseBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := fstackconf.ParseVersion("1.24")
	if probs := fstackconf.Check(f, v, nil); len(probs) != 0 {
		t.Errorf("the lab's f-stack.conf has problems: %v", probs)
	}
	for _, want := range []string{"pci_whitelist=net_tap0,0000:ff:1f.7", "addr=10.99.0.1", "gateway=10.99.0.2", "no_huge=1", "file_prefix=photonctl"} {
		if !strings.Contains(string(b), "\n"+want+"\n") {
			t.Errorf("lab conf lacks %q", want)
		}
	}
	if strings.Contains(string(b), "vlan_filter") {
		t.Error("lab conf sets vlan_filter, which DPDK's tap device cannot do")
	}
}
