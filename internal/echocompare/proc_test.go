package main

import (
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	line := "4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 1 0 100 0 0\n"
	d, err := parseStatCPU([]byte(line))
	if err != nil || d != 3250*time.Millisecond {
		t.Fatalf("got %v, %v; want 3.25s (325 ticks)", d, err)
	}
	for _, bad := range []string{"", "1 (x) S 1 2", "1 (x) S 1 2 3 4 5 6 7 8 9 10 x 7 1"} {
		if _, err := parseStatCPU([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func FuzzParseStatCPU(f *testing.F) {
	f.Add([]byte("1 (a) R 0 1 1 0 -1 0 0 0 0 0 5 6 0 0 20 0 1 0 1 0 0"))
	f.Fuzz(func(t *testing.T, b []byte) { parseStatCPU(b) })
}

func TestCPUTimeAndListenPort(t *testing.T) {
	if _, err := cpuTime(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	p, err := listenPort(os.Getpid())
	if err != nil || !strings.HasSuffix(l.Addr().String(), ":"+strconv.Itoa(p)) {
		t.Fatalf("listenPort = %d, %v; listening on %s", p, err, l.Addr())
	}
}

func TestSummarize(t *testing.T) {
	var s []sample
	for r, q := range []float64{100, 300, 200} {
		s = append(s, sample{Driver: driverBench, Server: "kernel", Mode: "pingpong", Conns: 100, Round: r, QPS: q, P99us: 10, CPUusMsg: 2})
		s = append(s, sample{Driver: driverBench, Server: "gonet", Mode: "pingpong", Conns: 100, Round: r, QPS: q / 2, P99us: 20, CPUusMsg: 3})
		// Another connection count is a case of its own.
		s = append(s, sample{Driver: driverBench, Server: "kernel", Mode: "pingpong", Conns: 10, Round: r, QPS: 1000, P99us: 1, CPUusMsg: 1})
		s = append(s, sample{Driver: driverBench, Server: "gonet", Mode: "pingpong", Conns: 10, Round: r, QPS: 3000, P99us: 1, CPUusMsg: 1})
	}
	rows := summarize(s, []string{driverBench}, []string{"kernel", "gonet"}, []runCase{{"pingpong", 10}, {"pingpong", 100}})
	if len(rows) != 4 {
		t.Fatalf("%d rows", len(rows))
	}
	if k10, g10 := rows[0], rows[1]; k10.Conns != 10 || k10.QPS.Median != 1000 || g10.QPSx != 3 {
		t.Errorf("10 conns rows %+v %+v", k10, g10)
	}
	k, g := rows[2], rows[3]
	if k.Conns != 100 || g.Conns != 100 {
		t.Errorf("100 conns rows have conns %d, %d", k.Conns, g.Conns)
	}
	if k.QPS != (stat{Median: 200, Min: 100, Max: 300}) || k.QPSx != 1 {
		t.Errorf("kernel row %+v", k)
	}
	if g.QPSx != 0.5 || g.P99x != 2 || g.CPUx != 1.5 {
		t.Errorf("gonet ratios %v %v %v", g.QPSx, g.P99x, g.CPUx)
	}
}

// echoedTo reads, with sock_diag, what the clients of a loopback server
// have received: here one connection to a Go echo server.
func TestEchoedTo(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
	}()
	port := l.Addr().(*net.TCPAddr).Port
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := make([]byte, 12345)
	c.Write(msg)
	if _, err := io.ReadFull(c, msg); err != nil {
		t.Fatal(err)
	}
	got, conns, err := echoedTo("", port)
	if err != nil || got != uint64(len(msg)) || conns != 1 {
		t.Fatalf("echoedTo(%d) = %d bytes, %d conns, %v; want %d, 1", port, got, conns, err, len(msg))
	}
	if _, _, err := echoedTo("", 1); err == nil {
		t.Error("port 1: no error for no connection")
	}
}
