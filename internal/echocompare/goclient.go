package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/photonctl/photonctl/pkg/dataplane"
)

// The Go client's phases, as the C load generator's.
const (
	phaseWarmup int32 = iota
	phaseMeasure
	phaseStop
)

// goPeriod is the length of the byte pattern the Go client sends (a prime,
// so that lost, repeated and reordered bytes show); the pattern buffer holds
// two periods, so any run of up to goPeriod bytes is one slice.
const goPeriod = 65521

// goDrain bounds the wait for the messages in flight at the end.
const goDrain = 2 * time.Second

// goClientConfig is one run of the Go pingpong client.
type goClientConfig struct {
	Addr     string
	Conns    int
	Size     int
	Warmup   time.Duration
	Duration time.Duration
}

// goConnStats is what one connection's goroutine counted.
type goConnStats struct {
	measured uint64 // messages completed while measuring
	mismatch uint64 // bytes that came back different
	firstBad int64  // stream offset of the first, -1: none
	hist     dataplane.Histogram
	err      error // the connection was lost (nil: it ended cleanly)
	inFlight bool  // it ended with a message sent and not echoed whole
}

func goPattern() []byte {
	p := make([]byte, 2*goPeriod)
	x := uint64(0x2545f4914f6cdd1d)
	for i := 0; i < goPeriod; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		p[i], p[i+goPeriod] = byte(x>>24), byte(x>>24)
	}
	return p
}

// patternRun is the longest run of connection idx's stream at offset off,
// up to n bytes, as one slice of the pattern.
func patternRun(pat []byte, idx int, off uint64, n int) []byte {
	s := int((off + uint64(idx)*977) % goPeriod)
	return pat[s : s+min(n, goPeriod)]
}

// runGoClient is the plain Go pingpong client the harness compares with
// photonctl's: a goroutine per connection that writes one message, reads it
// back whole (io.ReadFull), checks every byte and times the round trip. It
// returns the result also with dataplane.ErrMismatch or
// dataplane.ErrConnLost, as dataplane.Bench does.
func runGoClient(ctx context.Context, cfg goClientConfig) (*dataplane.BenchResult, error) {
	if cfg.Conns < 1 || cfg.Size < 1 || cfg.Duration <= 0 || cfg.Warmup < 0 {
		return nil, fmt.Errorf("go client: conns %d, size %d, warmup %v, duration %v: give positive values", cfg.Conns, cfg.Size, cfg.Warmup, cfg.Duration)
	}
	conns := make([]net.Conn, 0, cfg.Conns)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	d := net.Dialer{Timeout: 5 * time.Second}
	for i := 0; i < cfg.Conns; i++ {
		c, err := d.DialContext(ctx, "tcp", cfg.Addr)
		if err != nil {
			return nil, fmt.Errorf("go client: connection %d of %d: %w", i+1, cfg.Conns, err)
		}
		conns = append(conns, c) // Go sets TCP_NODELAY, as the C client does
	}
	pat := goPattern()
	var phase atomic.Int32
	stats := make([]*goConnStats, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		st := &goConnStats{firstBad: -1}
		stats[i] = st
		wg.Add(1)
		go func() {
			defer wg.Done()
			goConn(c, i, cfg.Size, pat, &phase, st)
		}()
	}
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()

	warm := time.NewTimer(cfg.Warmup)
	defer warm.Stop()
	var end <-chan time.Time
	var tMeasure time.Time
	ended := false
loop:
	for {
		select {
		case <-warm.C:
			tMeasure = time.Now()
			phase.Store(phaseMeasure)
			t := time.NewTimer(cfg.Duration)
			defer t.Stop()
			end = t.C
		case <-end:
			break loop
		case <-ctx.Done():
			break loop
		case <-allDone: // every connection was lost
			ended = true
			break loop
		}
	}
	tStop := time.Now()
	phase.Store(phaseStop)
	if !ended {
		select {
		case <-allDone:
		case <-time.After(goDrain):
			for _, c := range conns {
				c.SetDeadline(time.Now()) // wake the reads still waiting
			}
			<-allDone
		}
	}
	r := &dataplane.BenchResult{Schema: 1, Mode: dataplane.ModePingPong, Conns: cfg.Conns, Size: cfg.Size, Connected: uint64(len(conns)),
		Hist: &dataplane.Histogram{}}
	var firstErr error
	firstBad, badConn := int64(-1), -1
	for i, st := range stats {
		r.Messages += st.measured
		r.Mismatch += st.mismatch
		r.Hist.Merge(&st.hist)
		if st.firstBad >= 0 && badConn < 0 {
			firstBad, badConn = st.firstBad, i
		}
		switch {
		case st.inFlight && (st.err == nil || errors.Is(st.err, os.ErrDeadlineExceeded)):
			r.Unanswered += uint64(cfg.Size)
		case st.err != nil:
			r.ConnErr++
			if firstErr == nil {
				firstErr = st.err
			}
		}
	}
	if !tMeasure.IsZero() {
		win := tStop.Sub(tMeasure)
		r.Duration = win.Seconds()
		r.QPS = float64(r.Messages) / win.Seconds()
		r.MBps = float64(r.Messages) * float64(cfg.Size) / win.Seconds() / 1e6
		r.MBpsOut = r.MBps
	}
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
	h := r.Hist
	r.Latency = dataplane.Latency{P50: us(h.Quantile(0.50)), P90: us(h.Quantile(0.90)), P99: us(h.Quantile(0.99)),
		P999: us(h.Quantile(0.999)), Max: us(h.Max())}
	var errs []error
	if r.Mismatch > 0 {
		errs = append(errs, fmt.Errorf("%w: %d bytes (first on connection %d at stream offset %d)", dataplane.ErrMismatch, r.Mismatch, badConn, firstBad))
	}
	if r.Unanswered > 0 {
		errs = append(errs, fmt.Errorf("%w: %d bytes sent were not echoed back within %v of the end", dataplane.ErrMismatch, r.Unanswered, goDrain))
	}
	if r.ConnErr > 0 {
		errs = append(errs, fmt.Errorf("%w: %d of %d connections to %s (first: %v)", dataplane.ErrConnLost, r.ConnErr, cfg.Conns, cfg.Addr, firstErr))
	}
	return r, errors.Join(errs...)
}

// goConn is one connection's loop: write a message, read it back whole,
// check it, until the phase is stop.
func goConn(c net.Conn, idx, size int, pat []byte, phase *atomic.Int32, st *goConnStats) {
	rbuf := make([]byte, size)
	var off uint64
	for phase.Load() != phaseStop {
		t0 := time.Now()
		st.inFlight = true
		for done := 0; done < size; {
			run := patternRun(pat, idx, off+uint64(done), size-done)
			if _, err := c.Write(run); err != nil {
				st.err = err
				return
			}
			done += len(run)
		}
		if _, err := io.ReadFull(c, rbuf); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				err = errors.New("closed by the server")
			}
			st.err = err
			return
		}
		st.inFlight = false
		for done := 0; done < size; {
			want := patternRun(pat, idx, off+uint64(done), size-done)
			got := rbuf[done : done+len(want)]
			if !bytes.Equal(got, want) {
				for i := range want {
					if got[i] != want[i] {
						if st.firstBad < 0 {
							st.firstBad = int64(off) + int64(done+i)
						}
						st.mismatch++
					}
				}
			}
			done += len(want)
		}
		off += uint64(size)
		if phase.Load() == phaseMeasure {
			st.measured++
			st.hist.Record(time.Since(t0))
		}
	}
}

// goClientMain is -client gonet: run the Go client and print its result
// as bench echo --output json does.
func goClientMain(in *invocation) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, err := runGoClient(ctx, goClientConfig{Addr: in.addr, Conns: in.o.conns, Size: in.o.size, Warmup: in.o.warmup, Duration: in.o.duration})
	if r != nil {
		if jerr := json.NewEncoder(os.Stdout).Encode(r); jerr != nil {
			return jerr
		}
	}
	return err
}
