package dataplane

/*
#cgo CFLAGS: -O2 -Wall
#include <stdlib.h>
#include "loadgen.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"syscall"
	"time"
	"unsafe"
)

// Bench modes.
const (
	ModePingPong  = "pingpong"
	ModeStreaming = "streaming"
)

// Bench limits.
const (
	MaxConns = 10000
	MaxSize  = 16 << 20
)

// ErrMismatch is returned when bytes came back different from what was sent.
var ErrMismatch = errors.New("echoed bytes differ from the bytes sent")

// ErrConnLost is returned when connections failed or were closed by the server.
var ErrConnLost = errors.New("connections lost")

// BenchConfig is one bench run.
type BenchConfig struct {
	Addr     netip.AddrPort
	Mode     string
	Conns    int
	Size     int
	Duration time.Duration
	Warmup   time.Duration
	// Progress, when set, is called about every ProgressEvery with the
	// counters so far (ProgressEvery 0: every second).
	Progress      func(BenchProgress)
	ProgressEvery time.Duration
}

// BenchProgress is a snapshot while the bench runs.
type BenchProgress struct {
	Elapsed   time.Duration
	Measuring bool
	Connected uint64
	Messages  uint64
	BytesIn   uint64
	Errors    uint64
}

// Latency holds round-trip percentiles in microseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
}

// BenchResult is the outcome; its JSON form is the bench's schema 1.
type BenchResult struct {
	Schema     int     `json:"schema"`
	Mode       string  `json:"mode"`
	Conns      int     `json:"conns"`
	Size       int     `json:"size"`
	Duration   float64 `json:"duration_s"`
	Messages   uint64  `json:"messages"`
	QPS        float64 `json:"qps"`
	MBps       float64 `json:"mbps"` // MB/s (10^6 bytes) received back
	MBpsOut    float64 `json:"mbps_out"`
	Latency    Latency `json:"latency_us"`
	Mismatch   uint64  `json:"mismatched_bytes"`
	Unanswered uint64  `json:"unanswered_bytes"`
	ConnErr    uint64  `json:"conn_errors"`
	Connected  uint64  `json:"connected"`

	Hist *Histogram `json:"-"`
}

// Validate checks a bench config and fills in defaults.
func (c *BenchConfig) Validate() error {
	if !c.Addr.IsValid() || c.Addr.Port() == 0 {
		return fmt.Errorf("address %q: give HOST:PORT of the echo server, such as 10.99.0.1:8080", c.Addr)
	}
	switch c.Mode {
	case "":
		c.Mode = ModePingPong
	case ModePingPong, ModeStreaming:
	default:
		return fmt.Errorf("mode %q: give pingpong or streaming", c.Mode)
	}
	if c.Conns < 1 || c.Conns > MaxConns {
		return fmt.Errorf("conns %d: give 1 to %d", c.Conns, MaxConns)
	}
	if c.Size < 1 || c.Size > MaxSize {
		return fmt.Errorf("size %d bytes: give 1 to %d", c.Size, MaxSize)
	}
	if c.Duration <= 0 {
		return fmt.Errorf("duration %v: give a positive duration such as 10s", c.Duration)
	}
	if c.Warmup < 0 {
		return fmt.Errorf("warmup %v: give 0 or a positive duration", c.Warmup)
	}
	return nil
}

// Bench runs the load generator against an echo server: it connects
// cfg.Conns connections, warms up, measures for cfg.Duration and stops. A
// canceled ctx ends the measured window early. The result is returned also
// with ErrMismatch or ErrConnLost.
func Bench(ctx context.Context, cfg BenchConfig) (*BenchResult, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	sa, err := toSockaddr(cfg.Addr.Addr())
	if err != nil {
		return nil, fmt.Errorf("bench client for %s: %w", cfg.Addr, err)
	}
	mode := C.PC_LG_PINGPONG
	if cfg.Mode == ModeStreaming {
		mode = C.PC_LG_STREAMING
	}
	cb := C.CBytes(sa.addr)
	defer C.free(cb)
	var errno C.int
	var what *C.char
	g := C.pc_lg_new(C.int(sa.family), (*C.uchar)(cb), C.uint(sa.scope), C.int(cfg.Addr.Port()), C.int(cfg.Conns), C.int(cfg.Size), C.int(mode), &errno, &what)
	if g == nil {
		return nil, fmt.Errorf("bench client for %s: %s: %w", cfg.Addr, C.GoString(what), syscall.Errno(errno))
	}
	defer C.pc_lg_free(g)

	done := make(chan C.int, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		done <- C.pc_lg_run(g)
	}()

	every := cfg.ProgressEvery
	if every <= 0 {
		every = time.Second
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	start := time.Now()
	warm := time.NewTimer(cfg.Warmup)
	defer warm.Stop()
	var end <-chan time.Time
	measuring := false
	var rc C.int
	ended := false
loop:
	for {
		select {
		case rc = <-done:
			ended = true
			break loop
		case <-warm.C:
			C.pc_lg_phase(g, C.PC_LG_MEASURE)
			measuring = true
			t := time.NewTimer(cfg.Duration)
			defer t.Stop()
			end = t.C
		case <-end:
			break loop
		case <-ctx.Done():
			break loop
		case <-tick.C:
			if cfg.Progress != nil {
				s := readLG(g)
				cfg.Progress(BenchProgress{Elapsed: time.Since(start), Measuring: measuring, Connected: uint64(s.connected),
					Messages: uint64(s.messages), BytesIn: uint64(s.bytes_in), Errors: uint64(s.conn_errors)})
			}
		}
	}
	C.pc_lg_phase(g, C.PC_LG_STOP)
	if !ended {
		rc = <-done
	}
	if rc != 0 {
		return nil, fmt.Errorf("bench client loop: epoll_wait: %w", syscall.Errno(rc))
	}
	s := readLG(g)
	counts := make([]uint64, histBuckets)
	var maxNs C.uint64_t
	C.pc_lg_hist(g, (*C.uint64_t)(unsafe.Pointer(&counts[0])), &maxNs)
	h := &Histogram{}
	h.setCounts(counts, uint64(maxNs))

	r := &BenchResult{Schema: 1, Mode: cfg.Mode, Conns: cfg.Conns, Size: cfg.Size, Hist: h,
		Messages: uint64(s.measured), Mismatch: uint64(s.mismatched), Unanswered: uint64(s.unanswered), ConnErr: uint64(s.conn_errors), Connected: uint64(s.connected)}
	win := time.Duration(s.window_ns)
	r.Duration = win.Seconds()
	if win > 0 {
		r.QPS = float64(r.Messages) / win.Seconds()
		r.MBps = float64(s.measured_in) / win.Seconds() / 1e6
		r.MBpsOut = float64(s.measured_out) / win.Seconds() / 1e6
	}
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
	r.Latency = Latency{P50: us(h.Quantile(0.50)), P90: us(h.Quantile(0.90)), P99: us(h.Quantile(0.99)),
		P999: us(h.Quantile(0.999)), Max: us(h.Max())}

	var errs []error
	if r.Mismatch > 0 {
		errs = append(errs, fmt.Errorf("%w: %d bytes (first on connection %d at stream offset %d)",
			ErrMismatch, r.Mismatch, int64(s.first_mismatch_conn), uint64(s.first_mismatch_off)))
	}
	if r.Unanswered > 0 {
		errs = append(errs, fmt.Errorf("%w: %d bytes sent were not echoed back within 2s of the end", ErrMismatch, r.Unanswered))
	}
	if r.ConnErr > 0 {
		why := "closed by the server"
		if syscall.Errno(s.first_errno) == syscall.EPROTO {
			why = "the server sent back more bytes than were sent"
		} else if s.first_errno != 0 {
			why = syscall.Errno(s.first_errno).Error()
		}
		errs = append(errs, fmt.Errorf("%w: %d of %d connections to %s (first: %s)", ErrConnLost, r.ConnErr, cfg.Conns, cfg.Addr, why))
	}
	return r, errors.Join(errs...)
}

func readLG(g *C.pc_lg) C.pc_lg_stats {
	var s C.pc_lg_stats
	C.pc_lg_stats_read(g, &s)
	return s
}

// cHistBucket is the C loop's bucket function (for the test that keeps it
// and bucketOf the same).
func cHistBucket(v uint64) int { return int(C.pc_hist_bucket(C.uint64_t(v))) }
