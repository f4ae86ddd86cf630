package dataplane

import (
	"io"
	"math"
	"math/rand/v2"
	"net"
	"sort"
	"testing"
	"time"
)

// The Go and C bucket functions agree (the C loop records, Go reads).
func TestHistBucketMatchesC(t *testing.T) {
	vals := []uint64{0, 1, 127, 128, 255, 256, 257, 511, 512, 1000, 1 << 20, 123456789, 1<<40 + 12345, math.MaxUint64}
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		vals = append(vals, r.Uint64()>>r.IntN(64))
	}
	for _, v := range vals {
		if g, c := bucketOf(v), cHistBucket(v); g != c {
			t.Fatalf("bucket of %d: Go %d, C %d", v, g, c)
		}
	}
}

func checkBucket(t *testing.T, v uint64) {
	i := bucketOf(v)
	if i < 0 || i >= histBuckets {
		t.Fatalf("bucket of %d = %d, out of range", v, i)
	}
	hi := bucketHigh(i)
	if hi < v {
		t.Fatalf("bucket %d of %d has upper bound %d < value", i, v, hi)
	}
	if i > 0 && bucketHigh(i-1) >= v {
		t.Fatalf("value %d also fits bucket %d", v, i-1)
	}
	if v > 0 && float64(hi-v) > float64(v)/histSub {
		t.Fatalf("bucket of %d is wider than 1/%d of it (upper %d)", v, histSub, hi)
	}
}

func TestHistBuckets(t *testing.T) {
	for v := uint64(0); v < 5000; v++ {
		checkBucket(t, v)
	}
	for s := 12; s < 64; s++ {
		checkBucket(t, 1<<s-1)
		checkBucket(t, 1<<s)
		checkBucket(t, 1<<s+1)
	}
	checkBucket(t, math.MaxUint64)
}

func FuzzHistBucket(f *testing.F) {
	f.Add(uint64(0))
	f.Add(uint64(255))
	f.Add(uint64(1<<63 + 1))
	f.Fuzz(func(t *testing.T, v uint64) { checkBucket(t, v) })
}

func TestHistQuantiles(t *testing.T) {
	var h Histogram
	if h.Quantile(0.5) != 0 {
		t.Error("empty histogram has a median")
	}
	r := rand.New(rand.NewPCG(3, 4))
	var vals []time.Duration
	for range 100000 {
		d := time.Duration(r.ExpFloat64() * float64(50*time.Microsecond))
		vals = append(vals, d)
		h.Record(d)
	}
	sort.Slice(vals, func(i, j int) bool { return vals[i] < vals[j] })
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		exact := vals[int(q*float64(len(vals)))-1]
		got := h.Quantile(q)
		if rel := math.Abs(float64(got-exact)) / float64(exact); rel > 0.01 {
			t.Errorf("q%.3f = %v, exact %v (%.2f%% off)", q, got, exact, rel*100)
		}
	}
	if h.Max() != vals[len(vals)-1] || h.Quantile(1) != h.Max() {
		t.Errorf("max %v / q1 %v, want %v", h.Max(), h.Quantile(1), vals[len(vals)-1])
	}
	var m Histogram
	m.Merge(&h)
	m.Merge(&h)
	if m.Count() != 2*h.Count() || m.Quantile(0.5) != h.Quantile(0.5) {
		t.Errorf("merge: count %d median %v", m.Count(), m.Quantile(0.5))
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	var h Histogram
	d := 37 * time.Microsecond
	for i := 0; b.Loop(); i++ {
		h.Record(d + time.Duration(i&1023))
	}
}

func BenchmarkHistogramQuantile(b *testing.B) {
	var h Histogram
	for i := range 100000 {
		h.Record(time.Duration(i) * time.Microsecond / 10)
	}
	for b.Loop() {
		h.Quantile(0.999)
	}
}

// BenchmarkEchoPingPong drives the kernel engine, on each of its loops,
// with the C bench client over loopback: one op is one round trip of 512
// bytes on one of 50 connections.
func BenchmarkEchoPingPong(b *testing.B) {
	for _, io := range []string{IOEpoll, IOUring} {
		b.Run(io, func(b *testing.B) {
			s, err := Start(Config{Engine: EngineKernel, Listen: loopback, IO: io})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Stop()
			if s.IO != io {
				b.Skipf("needs io_uring (Linux 6.0): %s", s.IONote)
			}
			r, err := Bench(b.Context(), BenchConfig{Addr: s.Addr, Conns: 50, Size: 512, Duration: time.Second, Warmup: 200 * time.Millisecond})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(r.QPS, "msgs/s")
			b.ReportMetric(r.Latency.P99, "p99-us")
		})
	}
}

// BenchmarkKernelEchoRoundTrip is one 512-byte round trip through the
// kernel engine on one loopback connection per op.
func BenchmarkKernelEchoRoundTrip(b *testing.B) {
	s, err := Start(Config{Engine: EngineKernel, Listen: loopback})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Stop()
	c, err := net.Dial("tcp", s.Addr.String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	msg, got := make([]byte, 512), make([]byte, 512)
	b.SetBytes(512)
	for b.Loop() {
		if _, err := c.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, got); err != nil {
			b.Fatal(err)
		}
	}
}
