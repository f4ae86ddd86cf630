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
	"strings"
	"syscall"
	"time"
)

type options struct {
	photonctl string
	servers   []string
	modes     []string
	rounds    int
	conns     int
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
	var o options
	var servers, modes, serveKind, listen string
	var buffer int
	flag.StringVar(&o.photonctl, "photonctl", "", "photonctl binary to run (default: build ./cmd/photonctl into a temp dir)")
	flag.StringVar(&servers, "servers", "kernel,gonet,gnet", "servers to compare, the first is the reference")
	flag.StringVar(&modes, "modes", "pingpong,streaming", "bench modes")
	flag.IntVar(&o.rounds, "rounds", 3, "interleaved rounds (at least 3 for a median with min and max)")
	flag.IntVar(&o.conns, "conns", 100, "connections")
	flag.IntVar(&o.size, "size", 512, "message size in bytes (and the servers' read buffer)")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "measured time per run")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "warmup per run")
	flag.StringVar(&o.serverCPU, "server-cpu", "0", "CPU list the servers are pinned to (taskset -c)")
	flag.StringVar(&o.clientCPU, "client-cpu", "1", "CPU list the bench client is pinned to")
	flag.BoolVar(&o.jsonOut, "json", false, "print the results as JSON")
	flag.BoolVar(&o.lab, "lab", false, "compare the kernel and fstack engines in photonctl's fstack lab (needs root, a photonctl built with make fstack as -photonctl, and -servers kernel,fstack)")
	flag.StringVar(&serveKind, "serve", "", "run as the gonet or gnet echo server (used by the harness itself)")
	flag.StringVar(&listen, "listen", "127.0.0.1:0", "with -serve: listen address")
	flag.IntVar(&buffer, "buffer", 512, "with -serve: read buffer")
	flag.Parse()
	if serveKind != "" {
		if err := serve(serveKind, listen, buffer); err != nil {
			fmt.Fprintln(os.Stderr, "echocompare:", err)
			os.Exit(1)
		}
		return
	}
	o.servers = strings.Split(servers, ",")
	o.modes = strings.Split(modes, ",")
	if err := compare(o); err != nil {
		fmt.Fprintln(os.Stderr, "echocompare:", err)
		os.Exit(1)
	}
}

// sample is one bench run against one server.
type sample struct {
	Server    string  `json:"server"`
	Mode      string  `json:"mode"`
	Round     int     `json:"round"`
	QPS       float64 `json:"qps"`
	MBps      float64 `json:"mbps"`
	P99us     float64 `json:"p99_us"`
	CPUusMsg  float64 `json:"server_cpu_us_per_msg"`
	Messages  uint64  `json:"messages"`
	Mismatch  uint64  `json:"mismatched_bytes"`
	ServerCPU float64 `json:"server_cpu_s"`
}

func compare(o options) error {
	if o.rounds < 1 {
		return fmt.Errorf("-rounds %d: give 1 or more (3 or more for min/median/max)", o.rounds)
	}
	for _, s := range o.servers {
		switch {
		case s == "kernel", !o.lab && (s == "gonet" || s == "gnet"), o.lab && s == "fstack":
		case o.lab:
			return fmt.Errorf("-servers: %q does not run in the lab (kernel, fstack)", s)
		default:
			return fmt.Errorf("-servers: unknown server %q (kernel, gonet, gnet; fstack with -lab)", s)
		}
	}
	if o.lab && o.photonctl == "" {
		return errors.New("-lab needs -photonctl: a photonctl built with make fstack")
	}
	if o.photonctl == "" {
		dir, err := os.MkdirTemp("", "echocompare")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		o.photonctl = filepath.Join(dir, "photonctl")
		fmt.Fprintln(os.Stderr, "building photonctl ...")
		b := exec.Command("go", "build", "-o", o.photonctl, "./cmd/photonctl")
		b.Stdout, b.Stderr = os.Stderr, os.Stderr
		if err := b.Run(); err != nil {
			return fmt.Errorf("building photonctl (run from the repository root): %w", err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	pin := func(cpus string, argv []string) []string { return argv }
	if _, err := exec.LookPath("taskset"); err == nil {
		pin = func(cpus string, argv []string) []string { return append([]string{"taskset", "-c", cpus}, argv...) }
	} else {
		fmt.Fprintln(os.Stderr, "warning: taskset not found (util-linux): server and client are not pinned")
	}
	per := o.warmup + o.duration + 2*time.Second
	total := time.Duration(o.rounds*len(o.modes)*len(o.servers)) * per
	fmt.Fprintf(os.Stderr, "%d rounds x %d modes x %d servers, about %v\n", o.rounds, len(o.modes), len(o.servers), total.Round(time.Second))
	var samples []sample
	for r := 1; r <= o.rounds; r++ {
		for _, mode := range o.modes {
			for _, srv := range o.servers {
				var argv []string
				switch {
				case o.lab:
					argv = labServer(o, srv)
				case srv == "kernel":
					argv = []string{o.photonctl, "run", "echo", "--engine", "kernel", "--listen", "127.0.0.1:0", "--buffer", fmt.Sprint(o.size), "--stats-interval", "0", "--output", "json"}
				default:
					argv = []string{self, "-serve", srv, "-listen", "127.0.0.1:0", "-buffer", fmt.Sprint(o.size)}
				}
				s, err := runOne(o, pin, srv, mode, argv)
				if err != nil {
					return fmt.Errorf("round %d, %s, %s: %w", r, mode, srv, err)
				}
				s.Round = r
				fmt.Fprintf(os.Stderr, "  round %d %-9s %-6s %9.0f msg/s  p99 %8.1f us  %6.2f us CPU/msg\n", r, mode, srv, s.QPS, s.P99us, s.CPUusMsg)
				samples = append(samples, s)
			}
		}
	}
	if o.jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"schema": 1, "conns": o.conns, "size": o.size, "duration_s": o.duration.Seconds(),
			"rounds": o.rounds, "samples": samples, "summary": summarize(samples, o.servers, o.modes)})
	}
	printTable(os.Stdout, o, summarize(samples, o.servers, o.modes))
	return nil
}

// runOne starts a server pinned to the server CPU, finds its port, runs the
// bench client pinned to the client CPU, and reads the server's CPU time
// over the measured window.
func runOne(o options, pin func(string, []string) []string, srv, mode string, argv []string) (sample, error) {
	if o.lab && srv == "kernel" {
		if err := labKernelAddr(true); err != nil {
			return sample{}, err
		}
		defer labKernelAddr(false)
	}
	argv = pin(o.serverCPU, argv)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return sample{}, err
	}
	var serr bytes.Buffer
	cmd.Stderr = &serr
	if err := cmd.Start(); err != nil {
		return sample{}, err
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}()
	addr, err := serverAddr(cmd, out, srv)
	if err != nil {
		return sample{}, fmt.Errorf("%w; stderr: %s", err, serr.String())
	}
	go io.Copy(io.Discard, out)
	client := []string{o.photonctl, "--output", "json", "bench", "echo", "--addr", addr, "--mode", mode,
		"--conns", fmt.Sprint(o.conns), "--size", fmt.Sprint(o.size), "--duration", o.duration.String(), "--warmup", o.warmup.String()}
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
	cpu0, err := cpuTime(cmd.Process.Pid)
	if err != nil {
		return sample{}, err
	}
	berrWait := bench.Wait()
	cpu1, err := cpuTime(cmd.Process.Pid)
	if err != nil {
		return sample{}, err
	}
	var r struct {
		Messages uint64  `json:"messages"`
		QPS      float64 `json:"qps"`
		MBps     float64 `json:"mbps"`
		Mismatch uint64  `json:"mismatched_bytes"`
		Latency  struct {
			P99 float64 `json:"p99"`
		} `json:"latency_us"`
	}
	if err := json.Unmarshal(bout.Bytes(), &r); err != nil {
		return sample{}, fmt.Errorf("bench: %v, %v: %s", berrWait, err, berr.String())
	}
	if berrWait != nil {
		return sample{}, fmt.Errorf("bench: %v: %s", berrWait, berr.String())
	}
	s := sample{Server: srv, Mode: mode, QPS: r.QPS, MBps: r.MBps, P99us: r.Latency.P99, Messages: r.Messages, Mismatch: r.Mismatch,
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
			// F-Stack writes its own log to the same stdout, without a
			// newline before photonctl's start line at times.
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
		}
		if err := json.Unmarshal([]byte(l), &st); err != nil || st.Listen == "" {
			return "", fmt.Errorf("photonctl run echo said %q", l)
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
func isPhotonctl(srv string) bool { return srv == "kernel" || srv == "fstack" }

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
