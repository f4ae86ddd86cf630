package main

import (
	"bufio"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRunBenchFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "echo", "--listen", "nowhere"}, "--listen"},
		{[]string{"run", "echo", "--listen", "127.0.0.1:0", "--buffer", "0"}, "--buffer"},
		{[]string{"run", "echo", "--engine", "dpdk"}, "give auto, kernel or fstack"},
		{[]string{"run", "echo", "--stats-interval", "-1s"}, "--stats-interval"},
		{[]string{"run", "echo", "--io", "aio"}, "give auto, epoll or uring"},
		{[]string{"bench", "echo"}, "--addr is required"},
		{[]string{"bench", "echo", "--addr", "127.0.0.1"}, "--addr"},
		{[]string{"bench", "echo", "--addr", "127.0.0.1:1", "--mode", "burst"}, "pingpong or streaming"},
		{[]string{"bench", "echo", "--addr", "127.0.0.1:1", "--conns", "0"}, "conns 0"},
		{[]string{"bench", "echo", "--addr", "127.0.0.1:1", "--size", "0"}, "size 0"},
	} {
		r := photonctl(t, tc.args...)
		if r.code != ExitUsage || !strings.Contains(r.err, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 mentioning %q", tc.args, r.code, r.err, tc.want)
		}
	}
}

func TestRunEchoFstackNotBuiltIn(t *testing.T) {
	if hasFstack() {
		t.Skip("this binary has the fstack engine")
	}
	r := photonctl(t, "run", "echo", "--engine", "fstack")
	if r.code != ExitUsage || !strings.Contains(r.err, "make fstack FF_PATH=/usr/local") {
		t.Errorf("exit %d, stderr %q; want exit 2 saying how to build with fstack", r.code, r.err)
	}
}

func hasFstack() bool {
	for _, e := range engines() {
		if e == "fstack" {
			return true
		}
	}
	return false
}

// TestHelperProcess is photonctl itself when run by the tests below.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("PHOTONCTL_HELPER") != "1" {
		t.Skip("runs only as a helper process of TestRunEchoSignal")
	}
	args := strings.Split(os.Getenv("PHOTONCTL_ARGS"), "\x1f")
	os.Exit(Main(args, os.Stdin, os.Stdout, os.Stderr))
}

// run echo in its own process, driven by bench echo, stopped by a signal:
// it prints its counters as JSON lines, then totals, and exits 0.
func TestRunEchoSignal(t *testing.T) {
	for _, tc := range []struct {
		sig syscall.Signal
		io  string
	}{{syscall.SIGTERM, "epoll"}, {syscall.SIGINT, "epoll"}, {syscall.SIGTERM, "uring"}, {syscall.SIGINT, "uring"}} {
		sig := tc.sig
		t.Run(sig.String()+"/"+tc.io, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
			cmd.Env = append(os.Environ(), "PHOTONCTL_HELPER=1",
				"PHOTONCTL_ARGS="+strings.Join([]string{"--output", "json", "run", "echo", "--engine", "kernel", "--io", tc.io, "--listen", "127.0.0.1:0", "--stats-interval", "100ms"}, "\x1f"))
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			lines := make(chan echoLine, 100)
			go func() {
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					var l echoLine
					if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
						t.Errorf("not a JSON line: %q", sc.Text())
					}
					lines <- l
				}
				close(lines)
			}()
			var first echoLine
			select {
			case first = <-lines:
			case <-time.After(10 * time.Second):
				t.Fatalf("run echo printed nothing; stderr: %s", stderr.String())
			}
			if first.Type != "start" || first.Schema != 1 || first.Engine != "kernel" || first.Listen == "" {
				t.Fatalf("first line %+v", first)
			}
			if first.IO != tc.io {
				if tc.io == "uring" && first.IONote != "" {
					t.Skipf("needs io_uring (Linux 6.0): %s", first.IONote)
				}
				t.Fatalf("first line says io %q, want %q: %+v", first.IO, tc.io, first)
			}
			r := photonctl(t, "--output", "json", "bench", "echo", "--addr", first.Listen, "--conns", "10", "--duration", "300ms", "--warmup", "100ms")
			var br struct {
				Schema   int                `json:"schema"`
				Mode     string             `json:"mode"`
				Conns    int                `json:"conns"`
				Messages uint64             `json:"messages"`
				QPS      float64            `json:"qps"`
				Mismatch uint64             `json:"mismatched_bytes"`
				Latency  map[string]float64 `json:"latency_us"`
			}
			if err := json.Unmarshal([]byte(r.out), &br); err != nil || r.code != 0 {
				t.Fatalf("bench: exit %d, %v\n%s%s", r.code, err, r.out, r.err)
			}
			if br.Schema != 1 || br.Mode != "pingpong" || br.Conns != 10 || br.Messages == 0 || br.Mismatch != 0 || br.Latency["p99"] <= 0 {
				t.Errorf("bench result %+v", br)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			var last echoLine
			var sawTraffic bool
			for l := range lines {
				if l.Type == "interval" && l.QPS > 0 {
					sawTraffic = true
				}
				last = l
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("run echo after %v: %v; stderr: %s", sig, err, stderr.String())
			}
			if last.Type != "total" || last.Messages < br.Messages || last.Accepted != 10 || last.Connections != 0 {
				t.Errorf("last line %+v", last)
			}
			if !sawTraffic {
				t.Error("no interval line showed traffic")
			}
		})
	}
}

func TestBenchTextOutput(t *testing.T) {
	p := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	p.Env = append(os.Environ(), "PHOTONCTL_HELPER=1", "PHOTONCTL_ARGS="+strings.Join([]string{"run", "echo", "--engine", "kernel", "--listen", "127.0.0.1:0", "--stats-interval", "0"}, "\x1f"))
	out, _ := p.StdoutPipe()
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Process.Kill(); p.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	_, rest, ok := strings.Cut(line, "kernel engine listening on ")
	addr, _, _ := strings.Cut(rest, " ")
	if err != nil || !ok || !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("run echo said %q, %v", line, err)
	}
	r := photonctl(t, "bench", "echo", "--addr", addr, "--mode", "streaming", "--conns", "4", "--duration", "200ms", "--warmup", "0s")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.out, r.err)
	}
	for _, w := range []string{"streaming, 4 conns x 512 B", "round trip (us)  p50", "0 mismatched, 0 of 4 connections lost"} {
		if !strings.Contains(r.out, w) {
			t.Errorf("output lacks %q:\n%s", w, r.out)
		}
	}
}

// run echo on [::1] and bench echo against it, through the CLI: both used to
// panic (As4 on an IPv6 address). Real TCP over ::1.
func TestRunAndBenchEchoOverIPv6(t *testing.T) {
	if l, err := net.Listen("tcp6", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 on the loopback interface (%v): cannot test [::1]", err)
	} else {
		l.Close()
	}
	p := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	p.Env = append(os.Environ(), "PHOTONCTL_HELPER=1", "PHOTONCTL_ARGS="+strings.Join([]string{"run", "echo", "--engine", "kernel", "--listen", "[::1]:0", "--stats-interval", "0"}, "\x1f"))
	out, _ := p.StdoutPipe()
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Process.Kill(); p.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	_, rest, ok := strings.Cut(line, "kernel engine listening on ")
	addr, _, _ := strings.Cut(rest, " ")
	if err != nil || !ok || !strings.HasPrefix(addr, "[::1]:") {
		t.Fatalf("run echo said %q, %v", line, err)
	}
	r := photonctl(t, "bench", "echo", "--addr", addr, "--conns", "3", "--duration", "200ms", "--warmup", "0s")
	if r.code != 0 || !strings.Contains(r.out, "0 mismatched, 0 of 3 connections lost") {
		t.Fatalf("bench echo --addr %s: exit %d\n%s%s", addr, r.code, r.out, r.err)
	}
}

// The listen and server addresses Go's net package takes are taken.
func TestEchoAddressForms(t *testing.T) {
	for in, want := range map[string]string{":8080": "0.0.0.0:8080", "[::1]:8080": "[::1]:8080", "10.99.0.1:8080": "10.99.0.1:8080"} {
		c, err := (&runEchoOptions{Listen: in, Buffer: 512, Engine: "kernel"}).config()
		if err != nil || c.Listen.String() != want {
			t.Errorf("--listen %s: %v, %v; want %s", in, c.Listen, err, want)
		}
	}
	for in, want := range map[string]string{":8080": "127.0.0.1:8080", "[::1]:8080": "[::1]:8080"} {
		c, err := (&benchEchoOptions{Addr: in, Mode: "pingpong", Conns: 1, Size: 1, Duration: time.Second}).config()
		if err != nil || c.Addr.String() != want {
			t.Errorf("--addr %s: %v, %v; want %s", in, c.Addr, err, want)
		}
	}
	for _, args := range [][]string{{"run", "echo", "--listen", "localhost"}, {"bench", "echo", "--addr", "[::1]"}} {
		if r := photonctl(t, args...); r.code != ExitUsage || !strings.Contains(r.err, "HOST:PORT") && !strings.Contains(r.err, "ADDR:PORT") {
			t.Errorf("%v: exit %d %s", args, r.code, r.err)
		}
	}
}
