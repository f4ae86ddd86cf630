package dataplane

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"
)

func benchAgainst(t *testing.T, addr netip.AddrPort, mode string, conns, size int) (*BenchResult, error) {
	t.Helper()
	return Bench(context.Background(), BenchConfig{Addr: addr, Mode: mode, Conns: conns, Size: size,
		Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond})
}

func TestBenchAgainstEngine(t *testing.T) {
	s := startEcho(t, DefaultBuffer)
	for _, tc := range []struct {
		mode  string
		conns int
		size  int
	}{
		{ModePingPong, 50, 512},
		{ModePingPong, 3, 1},
		{ModePingPong, 4, 200000}, // bigger than --buffer: echoed in pieces
		{ModeStreaming, 50, 512},
		{ModeStreaming, 2, 1 << 20},
	} {
		before := s.Stats()
		r, err := benchAgainst(t, s.Addr, tc.mode, tc.conns, tc.size)
		if err != nil {
			t.Fatalf("%s %dx%d: %v", tc.mode, tc.conns, tc.size, err)
		}
		if r.Mismatch != 0 || r.Unanswered != 0 || r.ConnErr != 0 || r.Connected != uint64(tc.conns) {
			t.Errorf("%s %dx%d: %+v", tc.mode, tc.conns, tc.size, r)
		}
		if r.Messages == 0 || r.QPS <= 0 || r.Hist.Count() != r.Messages {
			t.Errorf("%s %dx%d: %d messages, qps %.0f, %d in the histogram", tc.mode, tc.conns, tc.size, r.Messages, r.QPS, r.Hist.Count())
		}
		l := r.Latency
		if !(0 < l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max) {
			t.Errorf("%s: percentiles out of order: %+v", tc.mode, l)
		}
		// Every byte the client sent came back, and the server counted it.
		waitFor(t, "the bench's connections to close", func() bool { return s.Stats().Open == 0 })
		d := s.Stats().Sub(before)
		if d.BytesIn != d.BytesOut || d.Accepted != uint64(tc.conns) || d.ClosedErr != 0 {
			t.Errorf("%s: server saw %+v", tc.mode, d)
		}
	}
}

// corruptServer echoes, but damages what it sends back as damage says.
func corruptServer(t *testing.T, damage func(b []byte, off int64) []byte) netip.AddrPort {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				var off int64
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					if _, err := c.Write(damage(buf[:n], off)); err != nil {
						return
					}
					off += int64(n)
				}
			}()
		}
	}()
	return netip.MustParseAddrPort(l.Addr().String())
}

func TestBenchCatchesBadServers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(b []byte, off int64) []byte
		want   error
	}{
		{"flips a bit", func(b []byte, off int64) []byte {
			if off <= 100000 && off+int64(len(b)) > 100000 {
				b[100000-off] ^= 0x10
			}
			return b
		}, ErrMismatch},
		{"drops a byte", func(b []byte, off int64) []byte {
			if off <= 5000 && off+int64(len(b)) > 5000 {
				return append(b[:5000-off:5000-off], b[5000-off+1:]...)
			}
			return b
		}, ErrMismatch},
		{"swaps two bytes", func(b []byte, off int64) []byte {
			if off == 0 && len(b) > 2 && b[1] != b[2] {
				b[1], b[2] = b[2], b[1]
			}
			return b
		}, ErrMismatch},
		{"sends extra", func(b []byte, off int64) []byte {
			if off == 0 {
				return append(b, 'x')
			}
			return b
		}, ErrConnLost},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := corruptServer(t, tc.damage)
			for _, mode := range []string{ModePingPong, ModeStreaming} {
				r, err := benchAgainst(t, addr, mode, 2, 512)
				if !errors.Is(err, tc.want) {
					t.Errorf("%s: error %v, want %v (result %+v)", mode, err, tc.want, r)
				}
			}
		})
	}
}

func TestBenchConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := netip.MustParseAddrPort(l.Addr().String())
	l.Close()
	r, err := benchAgainst(t, addr, ModePingPong, 5, 512)
	if !errors.Is(err, ErrConnLost) || r == nil || r.Connected != 0 || r.ConnErr != 5 {
		t.Fatalf("bench against a closed port: %+v, %v", r, err)
	}
}

// A server that closes connections mid-run is reported.
func TestBenchServerCloses(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				io.CopyN(c, c, 2048)
				c.Close()
			}()
		}
	}()
	_, err = benchAgainst(t, netip.MustParseAddrPort(l.Addr().String()), ModePingPong, 3, 512)
	if !errors.Is(err, ErrConnLost) {
		t.Fatalf("error %v, want ErrConnLost", err)
	}
}

func TestBenchConfigValidate(t *testing.T) {
	ok := BenchConfig{Addr: netip.MustParseAddrPort("127.0.0.1:1"), Conns: 1, Size: 1, Duration: time.Second}
	if err := ok.Validate(); err != nil || ok.Mode != ModePingPong {
		t.Fatalf("valid config: %v, mode %q", err, ok.Mode)
	}
	for name, mut := range map[string]func(*BenchConfig){
		"no port":   func(c *BenchConfig) { c.Addr = netip.MustParseAddrPort("127.0.0.1:0") },
		"mode":      func(c *BenchConfig) { c.Mode = "burst" },
		"conns 0":   func(c *BenchConfig) { c.Conns = 0 },
		"conns big": func(c *BenchConfig) { c.Conns = MaxConns + 1 },
		"size 0":    func(c *BenchConfig) { c.Size = 0 },
		"duration":  func(c *BenchConfig) { c.Duration = 0 },
		"warmup":    func(c *BenchConfig) { c.Warmup = -time.Second },
	} {
		c := ok
		mut(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
