package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type options struct {
	compare   string // compareServers or compareClients
	photonctl string
	servers   []string
	clients   []string // -compare clients
	modes     []string
	rounds    int
	conns     int   // pingpong connections (of this run: one of connsList)
	connsList []int // -conns: pingpong runs once per count
	sconns    int   // streaming connections (bench echo; net-perf streams on one)
	size      int
	duration  time.Duration
	warmup    time.Duration
	serverCPU string
	clientCPU string
	jsonOut   bool
	// lab compares the kernel and fstack engines in photonctl's fstack lab:
	// both serve 10.99.0.1 behind the same veth pair, the client runs in the
	// other namespace.
	lab bool
	// netperf is PhotonLibOS's net-perf binary: its server joins the
	// servers (as photon) and its client the drivers.
	netperf string
	// photonDemo is PhotonLibOS's fstack-dpdk-demo: with lab, it joins
	// the servers as serverPhotonFstack.
	photonDemo string
	drivers    []string // the clients that drive the servers: photonctl, netperf
	netns      bool     // run everything in a private network namespace (root)
}

// The drivers: the load generators that drive the servers.
const (
	driverBench   = "photonctl" // photonctl bench echo
	driverNetperf = "netperf"   // PhotonLibOS's net-perf client
)

// runCase is a mode with its connections: pingpong once per -conns count.
type runCase struct {
	Mode  string
	Conns int
}

// cases are the mode and connection pairs each round runs, in order.
func (o options) cases() []runCase {
	var cs []runCase
	for _, m := range o.modes {
		if m == "streaming" {
			cs = append(cs, runCase{m, o.sconns})
			continue
		}
		for _, n := range o.connsList {
			cs = append(cs, runCase{m, n})
		}
	}
	return cs
}

// forCase is o for a run of c.
func (o options) forCase(c runCase) options {
	if c.Mode != "streaming" {
		o.conns = c.Conns
	}
	return o
}

// checkEchoed says what is wrong with a run's echo: bytes that came back
// different, or nothing at all.
func checkEchoed(s sample) error {
	switch {
	case s.Mismatch > 0:
		return fmt.Errorf("%s echoed %d bytes wrong to %s (%s, %d conns): its echo is broken", s.Server, s.Mismatch, s.Driver, s.Mode, s.Conns)
	case s.Messages == 0:
		return fmt.Errorf("%s echoed no message to %s (%s, %d conns)", s.Server, s.Driver, s.Mode, s.Conns)
	}
	return nil
}

// connsFor is the connections of a run in mode.
func (o options) connsFor(mode string) int {
	if mode == "streaming" {
		return o.sconns
	}
	return o.conns
}

// The lab's names (photonctl lab up --engine fstack).
const (
	labNSA    = "photon-lab-a"
	labNSB    = "photon-lab-b"
	labAddr   = "10.99.0.1"
	labBridge = "plab-br"
	labConf   = "/var/lib/photonctl/lab/root/etc/f-stack.conf"
)

func main() {
	in, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "echocompare:", err)
		os.Exit(2)
	}
	switch {
	case in.serve != "":
		err = serve(in.serve, in.listen, in.buffer)
	case in.client != "":
		err = goClientMain(in)
	case in.o.compare == compareClients:
		err = compareClientsRun(in.o)
	default:
		err = compare(in.o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "echocompare:", err)
		os.Exit(1)
	}
}

// sample is one bench run against one server.
type sample struct {
	Driver    string  `json:"driver"`
	Server    string  `json:"server"`
	Mode      string  `json:"mode"`
	Conns     int     `json:"conns"`
	Round     int     `json:"round"`
	QPS       float64 `json:"qps"`
	MBps      float64 `json:"mbps"`
	P99us     float64 `json:"p99_us"`
	CPUusMsg  float64 `json:"server_cpu_us_per_msg"`
	Messages  uint64  `json:"messages"`
	Mismatch  uint64  `json:"mismatched_bytes"`
	ServerCPU float64 `json:"server_cpu_s"`
}

// pinFunc prefixes a command line with taskset -c CPUS (or leaves it be
// where taskset is missing).
type pinFunc func(cpus string, argv []string) []string

// prepare builds photonctl unless -photonctl names one (cleanup removes the
// build), and finds the harness's own binary and taskset.
func prepare(o *options) (self string, pin pinFunc, cleanup func(), err error) {
	cleanup = func() {}
	if o.photonctl == "" {
		dir, err := os.MkdirTemp("", "echocompare")
		if err != nil {
			return "", nil, cleanup, err
		}
		cleanup = func() { os.RemoveAll(dir) }
		o.photonctl = filepath.Join(dir, "photonctl")
		// The harness is its own module; photonctl's is the one its
		// go.mod replaces with the repository root.
		root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/photonctl/photonctl").Output()
		if err != nil {
			return "", nil, cleanup, fmt.Errorf("finding photonctl's source (go list -m; run from internal/echocompare, or give -photonctl): %w", err)
		}
		fmt.Fprintln(os.Stderr, "building photonctl ...")
		b := exec.Command("go", "build", "-o", o.photonctl, "./cmd/photonctl")
		b.Dir = strings.TrimSpace(string(root))
		b.Stdout, b.Stderr = os.Stderr, os.Stderr
		if err := b.Run(); err != nil {
			return "", nil, cleanup, fmt.Errorf("building photonctl in %s: %w", b.Dir, err)
		}
	}
	self, err = os.Executable()
	if err != nil {
		return "", nil, cleanup, err
	}
	pin = func(cpus string, argv []string) []string { return argv }
	if _, err := exec.LookPath("taskset"); err == nil {
		pin = func(cpus string, argv []string) []string { return append([]string{"taskset", "-c", cpus}, argv...) }
	} else {
		fmt.Fprintln(os.Stderr, "warning: taskset not found (util-linux): server and client are not pinned")
	}
	return self, pin, cleanup, nil
}

// serverArgv is the command line of a server outside the lab. port is
// net-perf's (the others listen on port 0 and say where).
func serverArgv(o options, self, srv string, port int) []string {
	if srv == "photon" {
		return photonServerArgv(o, port)
	}
	if srv == "kernel" || srv == serverKernelUring {
		argv := []string{o.photonctl, "run", "echo", "--engine", "kernel", "--listen", "127.0.0.1:0", "--buffer", fmt.Sprint(o.size), "--stats-interval", "0", "--output", "json"}
		if srv == serverKernelUring {
			argv = append(argv, "--io", "uring")
		}
		return argv
	}
	return []string{self, "-serve", srv, "-listen", "127.0.0.1:0", "-buffer", fmt.Sprint(o.size)}
}

func compare(o options) error {
	self, pin, cleanup, err := prepare(&o)
	defer cleanup()
	if err != nil {
		return err
	}
	if child, err := intoNetns(o); child {
		return err
	}
	per := o.warmup + o.duration + 2*time.Second
	cases := o.cases()
	total := time.Duration(o.rounds*len(cases)*len(o.drivers)*len(o.servers)) * per
	fmt.Fprintf(os.Stderr, "%d rounds x %d modes x %d drivers x %d servers, about %v\n", o.rounds, len(cases), len(o.drivers), len(o.servers), total.Round(time.Second))
	var samples []sample
	for r := 1; r <= o.rounds; r++ {
		for _, c := range cases {
			for _, drv := range o.drivers {
				for _, srv := range o.servers {
					s, err := runOne(o.forCase(c), pin, self, srv, c.Mode, drv)
					s.Conns = c.Conns
					if err == nil {
						err = checkEchoed(s)
					}
					if err != nil {
						return fmt.Errorf("round %d, %s %d conns, %s driving %s: %w", r, c.Mode, c.Conns, drv, srv, err)
					}
					s.Round = r
					fmt.Fprintf(os.Stderr, "  round %d %-9s %3d %-9s %-13s %9.0f msg/s  p99 %8.1f us  %6.2f us CPU/msg\n", r, c.Mode, c.Conns, drv, srv, s.QPS, s.P99us, s.CPUusMsg)
					samples = append(samples, s)
				}
			}
		}
	}
	rows := summarize(samples, o.drivers, o.servers, cases)
	if o.jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"schema": 1, "conns": o.connsList, "streaming_conns": o.sconns, "size": o.size, "duration_s": o.duration.Seconds(),
			"rounds": o.rounds, "samples": samples, "summary": rows})
	}
	printTable(os.Stdout, o, rows)
	return nil
}

// server is a running echo server.
type server struct {
	cmd  *exec.Cmd
	addr string
	// exited, where not nil, closes once cmd.Wait has returned (someone
	// else waits); cleanup, where not nil, runs after the process ended.
	exited  <-chan struct{}
	cleanup func()
}

// startServer starts a server pinned to the server CPU and finds its
// address; stop ends it.
func startServer(o options, pin pinFunc, srv string, argv []string) (*server, error) {
	argv = pin(o.serverCPU, argv)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var serr bytes.Buffer
	cmd.Stderr = &serr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd}
	if srv == "photon" {
		// net-perf says nothing on stdout: wait for its listening socket.
		go io.Copy(io.Discard, out)
		port, err := waitListening(cmd.Process.Pid, 10*time.Second)
		if err != nil {
			s.stop()
			return nil, fmt.Errorf("net-perf server: %w; stderr: %s", err, lastLines(serr.String(), 5))
		}
		s.addr = net.JoinHostPort("127.0.0.1", fmt.Sprint(port))
		return s, nil
	}
	addr, err := serverAddr(cmd, out, srv)
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("%w; stderr: %s", err, serr.String())
	}
	s.addr = addr
	go io.Copy(io.Discard, out)
	return s, nil
}

func (s *server) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := s.exited
	if done == nil {
		d := make(chan struct{})
		go func() { s.cmd.Wait(); close(d) }()
		done = d
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
	if s.cleanup != nil {
		s.cleanup()
	}
}

// benchOut is the part of bench echo's JSON (and the Go client's) the
// harness reads.
type benchOut struct {
	Messages uint64  `json:"messages"`
	QPS      float64 `json:"qps"`
	MBps     float64 `json:"mbps"`
	Mismatch uint64  `json:"mismatched_bytes"`
	Latency  struct {
		P99 float64 `json:"p99"`
	} `json:"latency_us"`
}

// runOne starts a server pinned to the server CPU, finds its port, runs the
// driver (a bench client) pinned to the client CPU, and reads the server's
// CPU time over the measured window.
func runOne(o options, pin pinFunc, self, srv, mode, driver string) (sample, error) {
	if o.lab {
		// Each F-Stack server's port has a MAC of its own (DPDK's tap
		// driver makes one up): the client must not keep the last one's.
		if err := labFlushNeigh(); err != nil {
			return sample{}, err
		}
	}
	if o.lab && srv == "kernel" {
		if err := labKernelAddr(true); err != nil {
			return sample{}, err
		}
		defer labKernelAddr(false)
	}
	port := 0
	if srv == "photon" {
		p, err := freePort()
		if err != nil {
			return sample{}, err
		}
		port = p
	}
	var sv *server
	var err error
	if o.lab && srv == serverPhotonFstack {
		sv, err = startPhotonDemo(o, pin)
	} else {
		argv := serverArgv(o, self, srv, port)
		if o.lab {
			argv = labServer(o, srv)
		}
		sv, err = startServer(o, pin, srv, argv)
	}
	if err != nil {
		return sample{}, err
	}
	defer sv.stop()
	if driver == driverNetperf {
		host, ps, _ := net.SplitHostPort(sv.addr)
		p, _ := strconv.Atoi(ps)
		s, err := runNetperf(o, pin, sv, mode, host, p)
		s.Server = srv
		return s, err
	}
	client := []string{o.photonctl, "--output", "json", "bench", "echo", "--addr", sv.addr, "--mode", mode,
		"--conns", fmt.Sprint(o.connsFor(mode)), "--size", fmt.Sprint(o.size), "--duration", o.duration.String(), "--warmup", o.warmup.String()}
	if o.lab {
		client = append([]string{"ip", "netns", "exec", labNSB}, client...)
	}
	bargv := pin(o.clientCPU, client)
	bench := exec.Command(bargv[0], bargv[1:]...)
	var bout, berr bytes.Buffer
	bench.Stdout, bench.Stderr = &bout, &berr
	if err := bench.Start(); err != nil {
		return sample{}, err
	}
	time.Sleep(o.warmup)
	cpu0, err := cpuTime(sv.cmd.Process.Pid)
	if err != nil {
		return sample{}, err
	}
	berrWait := bench.Wait()
	cpu1, err := cpuTime(sv.cmd.Process.Pid)
	if err != nil {
		return sample{}, err
	}
	var r benchOut
	if err := json.Unmarshal(bout.Bytes(), &r); err != nil {
		return sample{}, fmt.Errorf("bench: %v, %v: %s", berrWait, err, berr.String())
	}
	if berrWait != nil {
		return sample{}, fmt.Errorf("bench: %v: %s", berrWait, berr.String())
	}
	s := sample{Driver: driverBench, Server: srv, Mode: mode, QPS: r.QPS, MBps: r.MBps, P99us: r.Latency.P99, Messages: r.Messages, Mismatch: r.Mismatch,
		ServerCPU: (cpu1 - cpu0).Seconds()}
	if r.Messages > 0 {
		s.CPUusMsg = float64((cpu1 - cpu0).Nanoseconds()) / 1e3 / float64(r.Messages)
	}
	return s, nil
}

// serverAddr reads the address a server listens on from its first line:
// photonctl's JSON start line, or "ready" from the Go servers (whose port is
// then found in /proc/net/tcp).
func serverAddr(cmd *exec.Cmd, out io.Reader, srv string) (string, error) {
	line := make(chan string, 1)
	go func() {
		// The first line, or for the Go servers the "ready" line (gnet logs
		// its start first).
		br := bufio.NewReader(out)
		for {
			l, err := br.ReadString('\n')
			// Older photonctl let F-Stack write its log to the same
			// stdout, without a newline before the start line at times.
			if i := strings.Index(l, `{"schema"`); isPhotonctl(srv) && i >= 0 {
				line <- l[i:]
				return
			}
			if err != nil || strings.TrimSpace(l) == "ready" {
				line <- l
				return
			}
		}
	}()
	var l string
	select {
	case l = <-line:
	case <-time.After(60 * time.Second):
		return "", errors.New("server did not start within 60s")
	}
	if isPhotonctl(srv) {
		var st struct {
			Listen string `json:"listen"`
			IO     string `json:"io"`
			IONote string `json:"io_note"`
		}
		if err := json.Unmarshal([]byte(l), &st); err != nil || st.Listen == "" {
			return "", fmt.Errorf("photonctl run echo said %q", l)
		}
		if srv == serverKernelUring && st.IO != "uring" {
			return "", fmt.Errorf("server %s: photonctl runs its %q loop, not io_uring (%s)", srv, st.IO, st.IONote)
		}
		return st.Listen, nil
	}
	if strings.TrimSpace(l) != "ready" {
		return "", fmt.Errorf("server said %q", l)
	}
	port, err := listenPort(cmd.Process.Pid)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", fmt.Sprint(port)), nil
}

// isPhotonctl: the servers that are photonctl run echo (JSON start line).
func isPhotonctl(srv string) bool {
	return srv == "kernel" || srv == serverKernelUring || srv == "fstack"
}

// serverKernelUring is photonctl's kernel engine on its io_uring loop
// (run echo --io uring), beside "kernel" (its epoll loop).
const serverKernelUring = "kernel-uring"

// labServer is the command line of an engine in the lab. The kernel engine
// gets the lab address on the bridge for its run; F-Stack owns it otherwise.
func labServer(o options, srv string) []string {
	argv := []string{"ip", "netns", "exec", labNSA, o.photonctl, "run", "echo", "--listen", labAddr + ":8080",
		"--buffer", fmt.Sprint(o.size), "--stats-interval", "0", "--output", "json"}
	if srv == "fstack" {
		return append(argv, "--engine", "fstack", "--conf", labConf, "--tap-bridge", labBridge)
	}
	return append(argv, "--engine", "kernel")
}

// labFlushNeigh makes the lab's client forget the MACs it knows.
func labFlushNeigh() error {
	argv := []string{"ip", "-n", labNSB, "neigh", "flush", "all"}
	if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, out)
	}
	return nil
}

// labKernelAddr puts the lab address on the bridge (add) or takes it off, and
// makes the client forget whose MAC it had.
func labKernelAddr(add bool) error {
	verb := "del"
	if add {
		verb = "add"
	}
	for _, argv := range [][]string{
		{"ip", "-n", labNSA, "addr", verb, labAddr + "/24", "dev", labBridge},
		// The address moves between F-Stack's MAC and the bridge's: the
		// client must not keep the old one.
		{"ip", "-n", labNSB, "neigh", "flush", "all"},
	} {
		if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, out)
		}
	}
	return nil
}
