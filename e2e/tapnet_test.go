package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestMachineArgsTap(t *testing.T) {
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c := MachineConfig{Overlay: "/o.qcow2", Console: "/c.log", IGBPort: "rp2", SSHPort: 2222, EchoPort: 8081, Memory: 2048, CPUs: 2, DPTap: f}
	args := strings.Join(c.Args("/p"), " ")
	if !strings.Contains(args, "-netdev tap,id=dp,fd=3") {
		t.Errorf("with DPTap the igb's netdev is not the tap on fd 3:\n%s", args)
	}
	if strings.Contains(args, "user,id=dp") {
		t.Errorf("with DPTap the igb is still on a user-mode network:\n%s", args)
	}
}

// TestTapNet makes the igb's tap network for real: the tap lives in its
// namespace only, takes its address, and is gone with Close.
func TestTapNet(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("TestTapNet needs root (ip netns add, /dev/net/tun)")
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skipf("TestTapNet needs /dev/net/tun: %v", err)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("TestTapNet needs ip (iproute2)")
	}
	ns := fmt.Sprintf("photonctl-e2e-taptest-%d", os.Getpid())
	n, err := NewTapNet(ns, "dptest0", "10.0.3.1/24")
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if err := n.Up(); err != nil {
		t.Fatal(err)
	}
	out, err := n.Exec("ip", "-o", "addr", "show", "dev", "dptest0")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "10.0.3.1/24") {
		t.Errorf("the tap in %s lacks 10.0.3.1/24: %s", ns, out)
	}
	if _, err := os.Stat("/sys/class/net/dptest0"); err == nil {
		t.Errorf("the tap dptest0 is in this machine's namespace, not only in %s", ns)
	}
	n.Close()
	if out, err := exec.Command("ip", "netns", "list").Output(); err != nil || strings.Contains(string(out), ns) {
		t.Errorf("namespace %s outlives Close (%v): %s", ns, err, out)
	}
}
