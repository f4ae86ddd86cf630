package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/photonctl/photonctl/pkg/dataplane"
	"github.com/photonctl/photonctl/pkg/runner"
)

type runEchoOptions struct {
	g             *globalOptions
	Engine        string
	Conf          string
	Listen        string
	Buffer        int
	IO            string
	StatsInterval time.Duration
	// TapBridge, for F-Stack on DPDK's tap device (the lab): the bridge the
	// tap interface joins once F-Stack has created it.
	TapBridge string
}

// tapIface is the kernel interface DPDK's tap driver makes for net_tap0.
const tapIface = "dtap0"

// tapMAC is given to the tap interface: it starts with the port's own MAC,
// and two ends of one bridge cannot share one.
const tapMAC = "02:00:00:00:00:aa"

func newRunCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run an embedded dataplane",
	}
	cmd.AddCommand(newRunEchoCmd(g, nil))
	return cmd
}

func newRunEchoCmd(g *globalOptions, runF func(*runEchoOptions) error) *cobra.Command {
	opts := &runEchoOptions{g: g}
	cmd := &cobra.Command{
		Use:   "echo",
		Short: "Run the echo dataplane: read up to --buffer bytes, write them back",
		Long: `run echo serves TCP echo from an event loop in C: it accepts, reads up to
--buffer bytes, writes them back and counts. The kernel engine runs the loop
on Linux sockets, with epoll or (--io uring, Linux 6.0 or later) io_uring;
auto is epoll. Where the kernel refuses io_uring (a seccomp filter,
kernel.io_uring_disabled) --io uring says so and serves with epoll. The fstack engine (in a photonctl built with
make fstack FF_PATH=...) runs it on F-Stack, configured by --conf. auto picks
fstack where it is built in. Every --stats-interval it prints the open
connections, messages per second and MB/s; SIGINT or SIGTERM stops it, and it
prints the totals.`,
		Example: `  photonctl run echo --listen 0.0.0.0:8080
  ip netns exec photon-lab-a photonctl run echo --listen 10.99.0.1:8080
  photonctl run echo --engine kernel --io uring --listen 127.0.0.1:8080
  photonctl run echo --engine fstack --conf /etc/f-stack.conf --output json
  # F-Stack in an fstack lab (photonctl lab up --engine fstack)
  ip netns exec photon-lab-a photonctl run echo --engine fstack \
      --conf /var/lib/photonctl/lab/root/etc/f-stack.conf --tap-bridge plab-br --listen 10.99.0.1:8080`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runEcho(ctx, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Engine, "engine", dataplane.EngineAuto, "dataplane `ENGINE`: auto, fstack or kernel")
	f.StringVar(&opts.IO, "io", dataplane.IOAuto, "kernel engine's I/O `LOOP`: auto (epoll), epoll or uring (io_uring, Linux 6.0)")
	f.StringVar(&opts.Conf, "conf", "/etc/f-stack.conf", "F-Stack's config `FILE` (fstack engine)")
	f.StringVar(&opts.Listen, "listen", "0.0.0.0:8080", "listen on `ADDR:PORT` (10.99.0.1:8080, [::1]:8080, localhost:8080; :8080 is 0.0.0.0:8080)")
	f.IntVar(&opts.Buffer, "buffer", dataplane.DefaultBuffer, "read at most `BYTES` at a time and echo them")
	f.StringVar(&opts.TapBridge, "tap-bridge", "", "fstack engine on DPDK's tap device: join "+tapIface+" to `BRIDGE` once it exists (the lab's is plab-br)")
	f.DurationVar(&opts.StatsInterval, "stats-interval", time.Second, "print counters every `DURATION` (0: only the totals)")
	return cmd
}

func (o *runEchoOptions) config() (dataplane.Config, error) {
	ap, err := dataplane.ParseListen(o.Listen)
	if err != nil {
		return dataplane.Config{}, usageError("--listen %q: %v; give ADDR:PORT such as 0.0.0.0:8080, [::1]:8080 or :8080", o.Listen, err)
	}
	if o.Buffer < 1 || o.Buffer > dataplane.MaxBuffer {
		return dataplane.Config{}, usageError("--buffer %d: give 1 to %d bytes", o.Buffer, dataplane.MaxBuffer)
	}
	if o.StatsInterval < 0 {
		return dataplane.Config{}, usageError("--stats-interval %v: give 0 or a positive duration", o.StatsInterval)
	}
	eng, err := dataplane.Resolve(o.Engine)
	if err != nil {
		return dataplane.Config{}, withCode(ExitUsage, fmt.Errorf("--engine %s: %w", o.Engine, err))
	}
	if _, err := dataplane.ResolveIO(o.IO); err != nil {
		return dataplane.Config{}, withCode(ExitUsage, fmt.Errorf("--io %s: %w", o.IO, err))
	}
	if o.IO != "" && o.IO != dataplane.IOAuto && eng != dataplane.EngineKernel {
		return dataplane.Config{}, usageError("--io %s is for the kernel engine; this run uses the %s engine", o.IO, eng)
	}
	if o.TapBridge != "" && eng != dataplane.EngineFstack {
		return dataplane.Config{}, usageError("--tap-bridge is for the fstack engine on DPDK's tap device; this run uses the %s engine", eng)
	}
	return dataplane.Config{Engine: o.Engine, Listen: ap, Buffer: o.Buffer, Conf: o.Conf, IO: o.IO}, nil
}

// echoLine is one line of run echo's JSON output (schema 1).
type echoLine struct {
	Schema      int     `json:"schema"`
	Type        string  `json:"type"` // start, interval, total
	Engine      string  `json:"engine"`
	IO          string  `json:"io,omitempty"`      // the kernel engine's loop: epoll or uring
	IONote      string  `json:"io_note,omitempty"` // start line: why epoll when uring was asked for
	Listen      string  `json:"listen,omitempty"`
	Elapsed     float64 `json:"elapsed_s"`
	Connections uint64  `json:"connections"`
	Accepted    uint64  `json:"accepted"`
	Messages    uint64  `json:"messages"`
	QPS         float64 `json:"qps"`
	MBps        float64 `json:"mbps"`
	BytesIn     uint64  `json:"bytes_in"`
	BytesOut    uint64  `json:"bytes_out"`
	ClosedErr   uint64  `json:"closed_on_error"`
}

func runEcho(ctx context.Context, o *runEchoOptions) error {
	cfg, err := o.config()
	if err != nil {
		return err
	}
	srv, err := dataplane.Start(cfg)
	if err != nil {
		if errors.Is(err, dataplane.ErrPreflight) {
			return withCode(ExitUsage, err)
		}
		return err
	}
	g := o.g
	if o.TapBridge != "" {
		if err := joinTap(context.Background(), g.newRunner("/"), o.TapBridge); err != nil {
			srv.Stop()
			return err
		}
	}
	enc := json.NewEncoder(g.Out)
	line := func(typ string, st dataplane.Stats, d time.Duration) echoLine {
		l := echoLine{Schema: 1, Type: typ, Engine: srv.Engine, IO: srv.IO, Elapsed: d.Seconds(), Connections: st.Open, Accepted: st.Accepted,
			Messages: st.Messages, BytesIn: st.BytesIn, BytesOut: st.BytesOut, ClosedErr: st.ClosedErr}
		if d > 0 {
			l.QPS = float64(st.Messages) / d.Seconds()
			l.MBps = float64(st.BytesOut) / d.Seconds() / 1e6
		}
		return l
	}
	if g.JSON() {
		l := line("start", dataplane.Stats{}, 0)
		l.Listen = srv.Addr.String()
		l.IONote = srv.IONote
		if err := enc.Encode(l); err != nil {
			srv.Stop()
			return err
		}
	} else {
		io := ""
		if srv.IO != "" {
			io = ", " + srv.IO
		}
		fmt.Fprintf(g.Out, "echo: %s engine listening on %s (buffer %d B%s); SIGINT or SIGTERM stops it\n", srv.Engine, srv.Addr, cfg.Buffer, io)
	}
	if srv.IONote != "" {
		fmt.Fprintf(g.Err, "echo: %s\n", srv.IONote)
	}
	var tick <-chan time.Time
	if o.StatsInterval > 0 {
		t := time.NewTicker(o.StatsInterval)
		defer t.Stop()
		tick = t.C
	}
	start := time.Now()
	last, lastT := dataplane.Stats{}, start
	for {
		select {
		case <-ctx.Done():
			st, err := srv.Stop()
			d := time.Since(start)
			if g.JSON() {
				if e := enc.Encode(line("total", st, d)); e != nil && err == nil {
					err = e
				}
			} else {
				printEchoTotal(g.Out, line("total", st, d))
			}
			return err
		case <-srv.Done():
			_, err := srv.Stop()
			if err == nil {
				err = errors.New("the echo loop ended on its own")
			}
			return err
		case now := <-tick:
			st := srv.Stats()
			l := line("interval", st.Sub(last), now.Sub(lastT))
			l.Elapsed = now.Sub(start).Seconds()
			last, lastT = st, now
			if g.JSON() {
				if err := enc.Encode(l); err != nil {
					srv.Stop()
					return err
				}
			} else {
				fmt.Fprintf(g.Out, "%8.1fs  conns %6d  qps %10.0f  MB/s %8.2f\n", l.Elapsed, l.Connections, l.QPS, l.MBps)
			}
		}
	}
}

func printEchoTotal(w io.Writer, l echoLine) {
	fmt.Fprintf(w, "total: %.1fs  accepted %d  messages %d  bytes in %d out %d  closed on error %d  (avg qps %.0f, MB/s %.2f)\n",
		l.Elapsed, l.Accepted, l.Messages, l.BytesIn, l.BytesOut, l.ClosedErr, l.QPS, l.MBps)
}

// joinTap gives DPDK's tap interface its own MAC and puts it in the bridge,
// so that F-Stack on it answers the other end of the bridge. Equivalent to:
// ip link set dtap0 address 02:00:00:00:00:aa master BRIDGE up
func joinTap(ctx context.Context, run runner.Runner, bridge string) error {
	for _, args := range [][]string{
		{"ip", "link", "set", tapIface, "address", tapMAC},
		{"ip", "link", "set", tapIface, "master", bridge},
		{"ip", "link", "set", tapIface, "up"},
	} {
		if _, err := run.Run(ctx, args...); err != nil {
			return fmt.Errorf("joining DPDK's tap interface to bridge %s (is net_tap0 in the allow-list, and the bridge in this namespace?): %w", bridge, err)
		}
	}
	return nil
}
