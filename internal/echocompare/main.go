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
}

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
		switch s {
		case "kernel", "gonet", "gnet":
		default:
			return fmt.Errorf("-servers: unknown server %q (kernel, gonet, gnet)", s)
		}
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
				switch srv {
				case "kernel":
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
	bargv := pin(o.clientCPU, []string{o.photonctl, "--output", "json", "bench", "echo", "--addr", addr, "--mode", mode,
		"--conns", fmt.Sprint(o.conns), "--size", fmt.Sprint(o.size), "--duration", o.duration.String(), "--warmup", o.warmup.String()})
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
			if err != nil || srv == "kernel" || strings.TrimSpace(l) == "ready" {
				line <- l
				return
			}
		}
	}()
	var l string
	select {
	case l = <-line:
	case <-time.After(10 * time.Second):
		return "", errors.New("server did not start within 10s")
	}
	if srv == "kernel" {
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
