package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// PhotonLibOS's examples/perf/net-perf is both an echo server (one vCPU,
// its epoll engine, a coroutine per connection that reads --buf_size bytes
// whole and writes them back) and a load generator: --client_mode pingpong
// with --client_connection_num connections, or streaming on one connection
// (a coroutine writes, another reads). Its client counts nothing in
// streaming and only a mean latency in pingpong, so the harness counts the
// bytes echoed back to the client's sockets itself (tcp_info's
// bytes_received, read with sock_diag), the same for every server.

// photonServerArgv is the command line of net-perf's echo server on port.
func photonServerArgv(o options, port int) []string {
	return []string{o.netperf, "--port", fmt.Sprint(port), "--buf_size", fmt.Sprint(o.size)}
}

// netperfClientArgv is the command line of net-perf's client against
// host:port; in the lab it runs in namespace B, like bench echo.
func netperfClientArgv(o options, mode, host string, port, conns int) []string {
	argv := []string{o.netperf, "--client", "--client_mode", mode, "--ip", host, "--port", fmt.Sprint(port),
		"--buf_size", fmt.Sprint(o.size), "--client_connection_num", fmt.Sprint(conns)}
	if o.lab {
		argv = append([]string{"ip", "netns", "exec", labNSB}, argv...)
	}
	return argv
}

// freePort asks the kernel for a free TCP port on 127.0.0.1 (net-perf's
// server takes a port, not 0).
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitListening waits until process pid listens on a TCP port and returns it.
func waitListening(pid int, limit time.Duration) (int, error) {
	end := time.Now().Add(limit)
	for {
		port, err := listenPort(pid)
		if err == nil {
			return port, nil
		}
		if time.Now().After(end) {
			return 0, fmt.Errorf("no listening socket within %v: %w", limit, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// echoedTo sums tcp_info's bytes_received over the established IPv4
// sockets in network namespace ns (empty: this one) whose peer port is
// port: what the clients of the server on port have had echoed back.
func echoedTo(ns string, port int) (bytes uint64, conns int, err error) {
	h := &netlink.Handle{} // this namespace
	if ns != "" {
		nsh, err := netns.GetFromName(ns)
		if err != nil {
			return 0, 0, fmt.Errorf("network namespace %s: %w", ns, err)
		}
		defer nsh.Close()
		if h, err = netlink.NewHandleAt(nsh, syscall.NETLINK_INET_DIAG); err != nil {
			return 0, 0, fmt.Errorf("netlink in namespace %s: %w", ns, err)
		}
		defer h.Close()
	}
	socks, err := h.SocketDiagTCPInfo(syscall.AF_INET)
	if err != nil {
		return 0, 0, fmt.Errorf("sock_diag (tcp_info of the client's sockets): %w", err)
	}
	return sumEchoed(socks, port)
}

// tcpEstablished is TCP_ESTABLISHED, a socket's state in sock_diag.
const tcpEstablished = 1

func sumEchoed(socks []*netlink.InetDiagTCPInfoResp, port int) (bytes uint64, conns int, err error) {
	for _, s := range socks {
		if s == nil || s.InetDiagMsg == nil || s.TCPInfo == nil {
			continue
		}
		if int(s.InetDiagMsg.ID.DestinationPort) != port || s.InetDiagMsg.State != tcpEstablished {
			continue
		}
		bytes += s.TCPInfo.Bytes_received
		conns++
	}
	if conns == 0 {
		return 0, 0, fmt.Errorf("no established connection to port %d", port)
	}
	return bytes, conns, nil
}

// runNetperf drives the server on port with net-perf's client pinned to
// the client CPU: it counts the bytes echoed to the client and the server's
// CPU time from the end of the warmup to the end of the measured time.
func runNetperf(o options, pin pinFunc, sv *server, mode, host string, port int) (sample, error) {
	conns := o.conns
	if mode == "streaming" {
		conns = 1 // net-perf streams on one connection
	}
	ns := ""
	if o.lab {
		ns = labNSB
	}
	argv := pin(o.clientCPU, netperfClientArgv(o, mode, host, port, conns))
	cmd := exec.Command(argv[0], argv[1:]...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	var err error
	if err = cmd.Start(); err != nil {
		return sample{}, fmt.Errorf("net-perf client: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Kill()
		<-exited
	}()
	time.Sleep(o.warmup)
	// On a busy machine net-perf may take longer than the warmup to connect.
	var b0 uint64
	var n0 int
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		b0, n0, err = echoedTo(ns, port)
		if err == nil && n0 == conns {
			break
		}
		if time.Now().After(end) {
			return sample{}, fmt.Errorf("net-perf client after %v warmup and 5s more: %d of %d connections (%v); its log: %s",
				o.warmup, n0, conns, err, lastLines(errb.String(), 5))
		}
	}
	c0, err := cpuTime(sv.cmd.Process.Pid)
	if err != nil {
		return sample{}, err
	}
	t0 := time.Now()
	select {
	case err := <-exited:
		exited <- err
		return sample{}, fmt.Errorf("net-perf client ended early: %v: %s", err, lastLines(errb.String(), 5))
	case <-time.After(o.duration):
	}
	b1, n1, err := echoedTo(ns, port)
	c1, err2 := cpuTime(sv.cmd.Process.Pid)
	win := time.Since(t0)
	if err != nil || err2 != nil {
		return sample{}, errors.Join(err, err2)
	}
	if n1 != n0 || n0 != conns {
		return sample{}, fmt.Errorf("net-perf client: %d then %d connections, want %d: %s", n0, n1, conns, lastLines(errb.String(), 5))
	}
	msgs := (b1 - b0) / uint64(o.size)
	s := sample{Driver: driverNetperf, Mode: mode, Messages: msgs, ServerCPU: (c1 - c0).Seconds()}
	s.QPS = float64(msgs) / win.Seconds()
	s.MBps = float64(b1-b0) / 1e6 / win.Seconds()
	if msgs > 0 {
		s.CPUusMsg = float64((c1 - c0).Nanoseconds()) / 1e3 / float64(msgs)
	}
	return s, nil
}

// lastLines is the end of a log, for an error message.
func lastLines(s string, n int) string {
	b := bytes.TrimRight([]byte(s), "\n")
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' {
			n--
			if n == 0 {
				return string(b[i+1:])
			}
		}
	}
	return string(b)
}

// checkNetperf says what is wrong with -netperf.
func checkNetperf(path string) error {
	if _, err := exec.LookPath(path); err != nil {
		return fmt.Errorf("-netperf %s: %w (give the net-perf binary of a PhotonLibOS Release build with testing on: build/examples-output/net-perf)", path, err)
	}
	return nil
}
