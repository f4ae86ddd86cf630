package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/photonctl/photonctl/pkg/dataplane"
)

type benchEchoOptions struct {
	g        *globalOptions
	Addr     string
	Mode     string
	Conns    int
	Size     int
	Duration time.Duration
	Warmup   time.Duration
}

func newBenchCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Load-test a dataplane",
	}
	cmd.AddCommand(newBenchEchoCmd(g, nil))
	return cmd
}

func newBenchEchoCmd(g *globalOptions, runF func(*benchEchoOptions) error) *cobra.Command {
	opts := &benchEchoOptions{g: g}
	cmd := &cobra.Command{
		Use:   "echo",
		Short: "Drive an echo server and measure messages/s, MB/s and round-trip latency",
		Long: `bench echo opens --conns connections to an echo server from one thread (a C
event loop), warms up for --warmup, then measures for --duration. pingpong
keeps one --size message in flight per connection and times each round trip;
streaming keeps up to 16 KiB (at least two messages) in flight per
connection. Every byte that comes
back is checked against what was sent: a mismatch or a lost connection is an
error (exit 1). Latency percentiles come from a log-linear histogram (0.8%
precision).`,
		Example: `  photonctl bench echo --addr 127.0.0.1:8080
  ip netns exec photon-lab-b photonctl bench echo --addr 10.99.0.1:8080 --duration 3s --conns 20
  photonctl bench echo --addr 127.0.0.1:8080 --mode streaming --size 4096 --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return benchEcho(ctx, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Addr, "addr", "", "the echo server's `HOST:PORT` (required; 10.99.0.1:8080, [::1]:8080, localhost:8080; :8080 is 127.0.0.1:8080)")
	f.StringVar(&opts.Mode, "mode", dataplane.ModePingPong, "`MODE`: pingpong or streaming")
	f.IntVar(&opts.Conns, "conns", 100, "open `N` connections")
	f.IntVar(&opts.Size, "size", dataplane.DefaultBuffer, "message size in `BYTES`")
	f.DurationVar(&opts.Duration, "duration", 10*time.Second, "measure for `DURATION`")
	f.DurationVar(&opts.Warmup, "warmup", 2*time.Second, "run unmeasured for `DURATION` first")
	return cmd
}

func (o *benchEchoOptions) config() (dataplane.BenchConfig, error) {
	if o.Addr == "" {
		return dataplane.BenchConfig{}, usageError("--addr is required: give the echo server's HOST:PORT, such as 10.99.0.1:8080")
	}
	ap, err := dataplane.ParseDial(o.Addr)
	if err != nil {
		return dataplane.BenchConfig{}, usageError("--addr %q: %v; give HOST:PORT such as 10.99.0.1:8080 or [::1]:8080", o.Addr, err)
	}
	c := dataplane.BenchConfig{Addr: ap, Mode: o.Mode, Conns: o.Conns,
		Size: o.Size, Duration: o.Duration, Warmup: o.Warmup}
	if err := c.Validate(); err != nil {
		return c, withCode(ExitUsage, err)
	}
	return c, nil
}

func benchEcho(ctx context.Context, o *benchEchoOptions) error {
	cfg, err := o.config()
	if err != nil {
		return err
	}
	g := o.g
	if !g.JSON() && g.isTerminal() {
		total := cfg.Warmup + cfg.Duration
		cfg.Progress = func(p dataplane.BenchProgress) {
			phase := "warming up"
			if p.Measuring {
				phase = "measuring"
			}
			fmt.Fprintf(g.Err, "\r%5.1fs/%.0fs %-10s conns %d  messages %d  errors %d   ",
				p.Elapsed.Seconds(), total.Seconds(), phase, p.Connected, p.Messages, p.Errors)
		}
	}
	r, err := dataplane.Bench(ctx, cfg)
	if cfg.Progress != nil {
		fmt.Fprint(g.Err, "\r\033[K")
	}
	if r == nil {
		return err
	}
	if r.Connected == 0 {
		return withCode(ExitFailure, err)
	}
	if g.JSON() {
		if e := writeJSON(g.Out, r); e != nil {
			return e
		}
	} else {
		printBench(g.Out, cfg, r)
	}
	if errors.Is(err, dataplane.ErrMismatch) || errors.Is(err, dataplane.ErrConnLost) {
		return withCode(ExitFailure, err)
	}
	return err
}

func printBench(w io.Writer, cfg dataplane.BenchConfig, r *dataplane.BenchResult) {
	fmt.Fprintf(w, "bench echo %s: %s, %d conns x %d B, %.2fs measured after %v warmup\n",
		cfg.Addr, r.Mode, r.Conns, r.Size, r.Duration, cfg.Warmup)
	fmt.Fprintf(w, "  messages  %d  (%.0f/s)\n", r.Messages, r.QPS)
	fmt.Fprintf(w, "  MB/s      %.2f back, %.2f sent\n", r.MBps, r.MBpsOut)
	l := r.Latency
	fmt.Fprintf(w, "  round trip (us)  p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n", l.P50, l.P90, l.P99, l.P999, l.Max)
	fmt.Fprintf(w, "  checked   every byte: %d mismatched, %d of %d connections lost\n", r.Mismatch, r.ConnErr, r.Conns)
}
