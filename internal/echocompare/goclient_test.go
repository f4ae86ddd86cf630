package main

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/photonctl/photonctl/pkg/dataplane"
)

// testServer is a loopback echo server whose handler is given; it is closed
// at the end of the test.
func testServer(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); defer c.Close(); handle(c) }()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return l.Addr().String()
}

func echo(c net.Conn) { io.Copy(c, c) }

// corrupt echoes, but flips one bit of the 3000th byte of each connection.
func corrupt(c net.Conn) {
	buf := make([]byte, 512)
	var off int
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		if off <= 3000 && 3000 < off+n {
			buf[3000-off] ^= 0x10
		}
		off += n
		if _, err := c.Write(buf[:n]); err != nil {
			return
		}
	}
}

var short = goClientConfig{Conns: 4, Size: 100, Warmup: 20 * time.Millisecond, Duration: 200 * time.Millisecond}

func TestGoClientEcho(t *testing.T) {
	cfg := short
	cfg.Addr = testServer(t, echo)
	r, err := runGoClient(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.Messages == 0 || r.QPS <= 0 || r.Mismatch != 0 || r.ConnErr != 0 || r.Unanswered != 0 || r.Connected != 4 {
		t.Fatalf("result %+v", r)
	}
	if r.Hist.Count() != r.Messages || r.Latency.P99 <= 0 || r.Latency.P50 > r.Latency.P99 || r.Latency.P99 > r.Latency.Max {
		t.Errorf("latency %+v over %d values for %d messages", r.Latency, r.Hist.Count(), r.Messages)
	}
	if r.Duration < 0.2 || r.Duration > 1 {
		t.Errorf("window %v s, want about 0.2", r.Duration)
	}
}

// A message longer than the pattern's period is written and checked in
// runs.
func TestGoClientLongMessages(t *testing.T) {
	cfg := short
	cfg.Size, cfg.Conns = 3*goPeriod+5, 2
	cfg.Addr = testServer(t, echo)
	r, err := runGoClient(context.Background(), cfg)
	if err != nil || r.Messages == 0 || r.Mismatch != 0 {
		t.Fatalf("%+v, %v", r, err)
	}
}

func TestGoClientCatchesCorruption(t *testing.T) {
	cfg := short
	cfg.Addr = testServer(t, corrupt)
	r, err := runGoClient(context.Background(), cfg)
	if !errors.Is(err, dataplane.ErrMismatch) {
		t.Fatalf("err = %v, want ErrMismatch", err)
	}
	// One bad byte per connection, at stream offset 3000.
	if r.Mismatch != 4 {
		t.Errorf("mismatched %d bytes, want 4", r.Mismatch)
	}
	if want := "at stream offset 3000"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
}

func TestGoClientConnLost(t *testing.T) {
	cfg := short
	cfg.Addr = testServer(t, func(c net.Conn) {
		buf := make([]byte, 100)
		io.ReadFull(c, buf) // read one message, answer nothing, close
	})
	r, err := runGoClient(context.Background(), cfg)
	if !errors.Is(err, dataplane.ErrConnLost) || r.ConnErr != 4 {
		t.Fatalf("%+v, %v; want 4 lost connections", r, err)
	}
}

// A server that stops answering: the client waits goDrain at the end, then
// reports the message in flight as unanswered.
func TestGoClientUnanswered(t *testing.T) {
	if testing.Short() {
		t.Skip("waits the 2 s drain")
	}
	cfg := short
	cfg.Conns = 1
	cfg.Addr = testServer(t, func(c net.Conn) {
		buf := make([]byte, 100)
		for i := 0; i < 10; i++ {
			if _, err := io.ReadFull(c, buf); err != nil {
				return
			}
			c.Write(buf)
		}
		io.Copy(io.Discard, c) // then read and never answer
	})
	r, err := runGoClient(context.Background(), cfg)
	if !errors.Is(err, dataplane.ErrMismatch) || r.Unanswered != 100 || r.ConnErr != 0 {
		t.Fatalf("%+v, %v; want 100 unanswered bytes", r, err)
	}
}

func TestGoClientRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := short
	cfg.Addr = l.Addr().String()
	l.Close()
	if _, err := runGoClient(context.Background(), cfg); err == nil {
		t.Fatal("no error connecting to a closed port")
	}
}

func TestPatternRun(t *testing.T) {
	p := goPattern()
	// Runs are contiguous pieces of one stream: offset o of connection i
	// is p[(o+i*977) % goPeriod].
	for _, off := range []uint64{0, 5, goPeriod - 1, 2*goPeriod + 17} {
		run := patternRun(p, 3, off, goPeriod+10)
		if len(run) != goPeriod {
			t.Fatalf("run of %d bytes, want %d", len(run), goPeriod)
		}
		for k := range run {
			if run[k] != p[(off+uint64(k)+3*977)%goPeriod] {
				t.Fatalf("offset %d+%d differs", off, k)
			}
		}
	}
}
