package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fstackLabConf is a lab f-stack.conf for F-Stack 1.24: a DPDK tap device
// (plus a PCI address that does not exist, so that DPDK probes no PCI
// device), no hugepages, photonctl's file prefix, no vlan_filter (tap cannot).
const fstackLabConf = `[dpdk]
lcore_mask=1
channel=4
promiscuous=1
numa_on=0
tso=0
vlan_strip=0
idle_sleep=0
pkt_tx_delay=100
port_list=0
nb_vdev=0
nb_bond=0
no_huge=1
memory=512
file_prefix=photonctl
pci_whitelist=net_tap0,0000:ff:1f.7

[port0]
addr=10.99.0.1
netmask=255.255.255.0
broadcast=10.99.0.255
gateway=10.99.0.2
`

// TestFstackInLab runs run echo on F-Stack in one throwaway namespace, its
// tap device (dtap0) bridged with a veth whose peer, in another namespace,
// runs bench echo against it. run echo -o json's stdout must be JSON lines
// only: DPDK's and F-Stack's own output goes to stderr.
func TestFstackInLab(t *testing.T) {
	if !hasFstack() {
		t.Skip("needs libfstack: this test binary lacks the fstack engine (build with make fstack FF_PATH=..., or go test -tags fstack with CGO_CFLAGS/CGO_LDFLAGS set)")
	}
	if os.Getuid() != 0 {
		t.Skip("needs root: DPDK and network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip from iproute2")
	}
	conf := filepath.Join(t.TempDir(), "f-stack.conf")
	os.WriteFile(conf, []byte(fstackLabConf), 0o644)
	id := os.Getpid() % 100000
	nsA, nsB := "pcff"+itoa(id)+"-a", "pcff"+itoa(id)+"-b"
	vA, vB := "pcffa"+itoa(id), "pcffb"+itoa(id)
	ipCmd(t, "netns", "add", nsA)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", nsA).Run() })
	ipCmd(t, "netns", "add", nsB)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", nsB).Run() })
	ipCmd(t, "link", "add", vA, "netns", nsA, "type", "veth", "peer", "name", vB, "netns", nsB)
	ipCmd(t, "-n", nsB, "addr", "add", "10.99.0.2/24", "dev", vB)
	ipCmd(t, "-n", nsB, "link", "set", vB, "up")
	ipCmd(t, "-n", nsA, "link", "add", "br0", "type", "bridge")
	ipCmd(t, "-n", nsA, "link", "set", vA, "master", "br0")
	ipCmd(t, "-n", nsA, "link", "set", vA, "up")
	ipCmd(t, "-n", nsA, "link", "set", "br0", "up")

	srv := helper([]string{"ip", "netns", "exec", nsA}, "--output", "json", "run", "echo", "--engine", "fstack", "--conf", conf, "--listen", "10.99.0.1:8080")
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
	lines := make(chan string, 1000)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			l := sc.Text()
			if !json.Valid([]byte(l)) {
				l = "NOT JSON: " + l
			}
			lines <- l
		}
		close(lines)
	}()
	deadline := time.After(60 * time.Second)
	for started := false; !started; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("run echo ended: %s", serr.String())
			}
			if strings.HasPrefix(l, "NOT JSON: ") {
				t.Fatalf("run echo -o json printed on stdout %q (DPDK's or F-Stack's log?)", l)
			}
			started = strings.Contains(l, `"type":"start"`) && strings.Contains(l, `"listen":"10.99.0.1:8080"`)
		case <-deadline:
			t.Fatalf("F-Stack did not start within 60s: %s", serr.String())
		}
	}
	// DPDK's tap device carries the port's MAC: give it another, bridge it.
	ipCmd(t, "-n", nsA, "link", "set", "dtap0", "address", "02:00:00:00:00:aa")
	ipCmd(t, "-n", nsA, "link", "set", "dtap0", "master", "br0")
	ipCmd(t, "-n", nsA, "link", "set", "dtap0", "up")
	for _, mode := range []string{"pingpong", "streaming"} {
		b := helper([]string{"ip", "netns", "exec", nsB}, "bench", "echo", "--addr", "10.99.0.1:8080", "--mode", mode, "--duration", "1s", "--warmup", "500ms", "--conns", "20")
		bout, err := b.CombinedOutput()
		if err != nil || !strings.Contains(string(bout), "0 mismatched, 0 of 20 connections lost") {
			t.Fatalf("%s bench over F-Stack: %v\n%s", mode, err, bout)
		}
	}
	srv.Process.Signal(syscall.SIGTERM)
	var last string
	for l := range lines {
		if strings.HasPrefix(l, "NOT JSON: ") {
			t.Errorf("run echo -o json printed on stdout %q", l)
		}
		last = l
	}
	if err := srv.Wait(); err != nil || !strings.Contains(last, `"type":"total"`) || !strings.Contains(last, `"accepted":40`) {
		t.Errorf("run echo after SIGTERM: %v, last line %q; stderr %s", err, last, serr.String())
	}
	if _, err := os.Stat("/var/run/dpdk/container-photonctl"); err == nil {
		t.Error("DPDK runtime directory of photonctl's prefix left behind")
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
