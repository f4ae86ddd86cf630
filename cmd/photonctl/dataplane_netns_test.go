package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helper returns a command that runs photonctl (this test binary as its
// helper process) with args, under the given argv prefix (ip netns exec NS).
func helper(prefix []string, args ...string) *exec.Cmd {
	argv := append(append([]string{}, prefix...), os.Args[0], "-test.run=^TestHelperProcess$")
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "PHOTONCTL_HELPER=1", "PHOTONCTL_ARGS="+strings.Join(args, "\x1f"))
	return cmd
}

func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// TestDemoInNamespaces runs what make demo ends with, in two throwaway
// namespaces shaped like the lab's (10.99.0.1/24 and 10.99.0.2/24 on a veth
// pair): run echo in one, bench echo from the other.
func TestDemoInNamespaces(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root: creates network namespaces and a veth pair")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip from iproute2")
	}
	id := os.Getpid() % 100000
	nsA, nsB := fmt.Sprintf("pcdp%d-a", id), fmt.Sprintf("pcdp%d-b", id)
	vA, vB := fmt.Sprintf("pcdpa%d", id), fmt.Sprintf("pcdpb%d", id)
	ipCmd(t, "netns", "add", nsA)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", nsA).Run() })
	ipCmd(t, "netns", "add", nsB)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", nsB).Run() })
	ipCmd(t, "link", "add", vA, "netns", nsA, "type", "veth", "peer", "name", vB, "netns", nsB)
	ipCmd(t, "-n", nsA, "addr", "add", "10.99.0.1/24", "dev", vA)
	ipCmd(t, "-n", nsB, "addr", "add", "10.99.0.2/24", "dev", vB)
	for _, ns := range []string{nsA, nsB} {
		ipCmd(t, "-n", ns, "link", "set", "lo", "up")
	}
	ipCmd(t, "-n", nsA, "link", "set", vA, "up")
	ipCmd(t, "-n", nsB, "link", "set", vB, "up")

	srv := helper([]string{"ip", "netns", "exec", nsA}, "run", "echo", "--engine", "kernel", "--listen", "10.99.0.1:8080")
	out, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var serr strings.Builder
	srv.Stderr = &serr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	select {
	case l := <-lines:
		if !strings.Contains(l, "listening on 10.99.0.1:8080") {
			t.Fatalf("run echo said %q", l)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("run echo did not start: %s", serr.String())
	}
	b := helper([]string{"ip", "netns", "exec", nsB}, "bench", "echo", "--addr", "10.99.0.1:8080", "--duration", "1s", "--warmup", "200ms", "--conns", "20")
	bout, err := b.CombinedOutput()
	if err != nil || !strings.Contains(string(bout), "0 mismatched, 0 of 20 connections lost") {
		t.Fatalf("bench in %s: %v\n%s", nsB, err, bout)
	}
	srv.Process.Signal(syscall.SIGTERM)
	var last string
	for l := range lines {
		last = l
	}
	if err := srv.Wait(); err != nil || !strings.HasPrefix(last, "total:") || !strings.Contains(last, "accepted 20") {
		t.Errorf("run echo after SIGTERM: %v, last line %q; stderr %s", err, last, serr.String())
	}
}
