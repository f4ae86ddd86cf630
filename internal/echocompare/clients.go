package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"time"
)

// clientSample is one run of one client against the server.
type clientSample struct {
	Client         string  `json:"client"`
	Server         string  `json:"server"`
	Round          int     `json:"round"`
	QPS            float64 `json:"qps"`
	P99us          float64 `json:"p99_us"`
	Messages       uint64  `json:"messages"`
	Mismatch       uint64  `json:"mismatched_bytes"`
	ClientCPU      float64 `json:"client_cpu_s"`
	ServerCPU      float64 `json:"server_cpu_s"`
	Window         float64 `json:"window_s"` // the harness's CPU window
	ClientCPUusMsg float64 `json:"client_cpu_us_per_msg"`
	ServerCPUusMsg float64 `json:"server_cpu_us_per_msg"`
}

// clientArgv is the command line of a bench client against addr.
func clientArgv(o options, self, client, addr string) []string {
	load := []string{"--conns", fmt.Sprint(o.conns), "--size", fmt.Sprint(o.size), "--duration", o.duration.String(), "--warmup", o.warmup.String()}
	if client == "photonctl" {
		return append([]string{o.photonctl, "--output", "json", "bench", "echo", "--addr", addr, "--mode", "pingpong"}, load...)
	}
	return append([]string{self, "-client", client, "-addr", addr}, load...)
}

// compareClientsRun is -compare clients: in interleaved rounds, each client
// pinned to the client CPU (GOMAXPROCS=1) against a fresh server pinned to
// the server CPU, pingpong; it prints messages/s, p99 and both processes'
// CPU time per message, as ratios to the first client.
func compareClientsRun(o options) error {
	self, pin, cleanup, err := prepare(&o)
	defer cleanup()
	if err != nil {
		return err
	}
	if child, err := intoNetns(o); child {
		return err
	}
	srv := o.servers[0]
	per := o.warmup + o.duration + 2*time.Second
	fmt.Fprintf(os.Stderr, "%d rounds x %d clients against %s, about %v\n", o.rounds, len(o.clients), srv,
		(time.Duration(o.rounds*len(o.clients)) * per).Round(time.Second))
	var samples []clientSample
	for r := 1; r <= o.rounds; r++ {
		for _, cl := range o.clients {
			s, err := runClientOne(o, pin, self, srv, cl)
			if err != nil {
				return fmt.Errorf("round %d, client %s: %w", r, cl, err)
			}
			s.Round = r
			fmt.Fprintf(os.Stderr, "  round %d %-9s %9.0f msg/s  p99 %8.1f us  client %6.2f us CPU/msg  server %6.2f us CPU/msg\n",
				r, cl, s.QPS, s.P99us, s.ClientCPUusMsg, s.ServerCPUusMsg)
			samples = append(samples, s)
		}
	}
	rows := summarizeClients(samples, o.clients)
	if o.jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"schema": 1, "compare": compareClients, "server": srv, "mode": "pingpong", "conns": o.conns, "size": o.size,
			"duration_s": o.duration.Seconds(), "rounds": o.rounds, "samples": samples, "summary": rows})
	}
	printClientTable(os.Stdout, o, rows)
	return nil
}

// runClientOne starts the server, runs one client against it, and reads
// both processes' CPU time over the same window: from the end of the
// client's warmup to the end of its measured time, as seen from here.
func runClientOne(o options, pin pinFunc, self, srv, client string) (s clientSample, err error) {
	port := 0
	if srv == "photon" {
		if port, err = freePort(); err != nil {
			return clientSample{}, err
		}
	}
	sv, err := startServer(o, pin, srv, serverArgv(o, self, srv, port))
	if err != nil {
		return clientSample{}, err
	}
	defer sv.stop()
	argv := pin(o.clientCPU, clientArgv(o, self, client, sv.addr))
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		return clientSample{}, err
	}
	waited := false
	defer func() {
		if !waited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	start := time.Now()
	time.Sleep(o.warmup)
	c0, err1 := cpuTime(cmd.Process.Pid)
	s0, err2 := cpuTime(sv.cmd.Process.Pid)
	t0 := time.Now()
	time.Sleep(time.Until(start.Add(o.warmup + o.duration)))
	c1, err3 := cpuTime(cmd.Process.Pid)
	s1, err4 := cpuTime(sv.cmd.Process.Pid)
	win := time.Since(t0)
	werr := cmd.Wait()
	waited = true
	for _, err := range []error{err1, err2, err3, err4} {
		if err != nil {
			return clientSample{}, fmt.Errorf("reading CPU time (did the client end early? %v: %s): %w", werr, errb.String(), err)
		}
	}
	var r benchOut
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		return clientSample{}, fmt.Errorf("client: %v, %v: %s", werr, err, errb.String())
	}
	if werr != nil {
		return clientSample{}, fmt.Errorf("client: %v: %s", werr, errb.String())
	}
	s = clientSample{Client: client, Server: srv, QPS: r.QPS, P99us: r.Latency.P99, Messages: r.Messages, Mismatch: r.Mismatch,
		ClientCPU: (c1 - c0).Seconds(), ServerCPU: (s1 - s0).Seconds(), Window: win.Seconds()}
	// CPU seconds per second over this window, over messages per second
	// over the client's (of the same length, a few ms later).
	if r.QPS > 0 && s.Window > 0 {
		s.ClientCPUusMsg = s.ClientCPU / s.Window / r.QPS * 1e6
		s.ServerCPUusMsg = s.ServerCPU / s.Window / r.QPS * 1e6
	}
	return s, nil
}
