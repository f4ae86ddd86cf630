package dataplane

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"
)

var loopback = netip.MustParseAddrPort("127.0.0.1:0")

// testIO is the kernel engine's loop the tests start (TestUring runs them
// again on io_uring).
var testIO = IOEpoll

// startEcho starts the kernel engine on a free loopback port; it is stopped
// at the end of the test.
func startEcho(t *testing.T, buffer int) *Server {
	t.Helper()
	s, err := Start(Config{Engine: EngineKernel, Listen: loopback, Buffer: buffer, IO: testIO})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if s.IO != testIO {
		t.Fatalf("Start with IO %s runs %q (%s)", testIO, s.IO, s.IONote)
	}
	t.Cleanup(func() { s.Stop() })
	return s
}

func dial(t *testing.T, s *Server) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.Addr.String(), 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", s.Addr, err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(8 * time.Second))
	return c.(*net.TCPConn)
}

func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// roundTrip writes msg from one goroutine while reading the echo in another
// (so a message larger than the socket buffers cannot deadlock), and checks
// it byte for byte.
func roundTrip(t *testing.T, c net.Conn, msg []byte) {
	t.Helper()
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(msg)
		werr <- err
	}()
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("reading %d echoed bytes: %v", len(msg), err)
	}
	if err := <-werr; err != nil {
		t.Fatalf("writing %d bytes: %v", len(msg), err)
	}
	if i := firstDiff(got, msg); i >= 0 {
		t.Fatalf("echo of %d bytes differs at byte %d", len(msg), i)
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestEchoMessageSizes(t *testing.T) {
	s := startEcho(t, DefaultBuffer)
	c := dial(t, s)
	var total uint64
	for i, n := range []int{1, 2, 511, 512, 513, 1500, 4096, 65535, 65536, 262144, 1 << 20} {
		roundTrip(t, c, randBytes(uint64(i), n))
		total += uint64(n)
	}
	// The client can have the last bytes before the loop counts its write.
	var st Stats
	waitFor(t, fmt.Sprintf("in and out counters at %d", total), func() bool {
		st = s.Stats()
		return st.BytesIn == total && st.BytesOut == total
	})
	// A read returns at most --buffer bytes: 1 MiB takes at least 2048 reads.
	if st.Messages < (1<<20)/DefaultBuffer {
		t.Errorf("messages = %d: reads are bigger than the %d-byte buffer", st.Messages, DefaultBuffer)
	}
	if st.Open != 1 || st.Accepted != 1 {
		t.Errorf("open %d accepted %d, want 1 and 1", st.Open, st.Accepted)
	}
}

func TestEchoManyConnections(t *testing.T) {
	s := startEcho(t, DefaultBuffer)
	const conns, rounds = 200, 20
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", s.Addr.String())
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(8 * time.Second))
			got := make([]byte, 700)
			for r := range rounds {
				msg := randBytes(uint64(i*rounds+r), 1+(i*31+r*17)%700)
				if _, err := c.Write(msg); err != nil {
					errs <- err
					return
				}
				if _, err := io.ReadFull(c, got[:len(msg)]); err != nil {
					errs <- fmt.Errorf("conn %d round %d: %w", i, r, err)
					return
				}
				if !bytes.Equal(got[:len(msg)], msg) {
					errs <- fmt.Errorf("conn %d round %d: echo differs", i, r)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := s.Stats(); st.Accepted != conns {
		t.Errorf("accepted %d, want %d", st.Accepted, conns)
	}
	waitFor(t, "all connections closed", func() bool { return s.Stats().Open == 0 })
	if st := s.Stats(); st.ClosedErr != 0 {
		t.Errorf("%d connections closed on error, want 0 (clients closed cleanly)", st.ClosedErr)
	}
}

func TestEchoPipelined(t *testing.T) {
	s := startEcho(t, DefaultBuffer)
	c := dial(t, s)
	// 2000 messages written back to back before reading any reply.
	var all []byte
	for i := range 2000 {
		all = append(all, randBytes(uint64(i), 1+i%300)...)
	}
	roundTrip(t, c, all)
}

// A client that stops reading fills its receive buffer and the server's send
// buffer: the server's writes go partial, and it must keep the rest, stop
// reading, and send everything, in order, once the client reads again. With a
// 512-byte buffer the partial writes are of gathered reads.
func TestEchoClientStopsReading(t *testing.T) {
	for _, buffer := range []int{DefaultBuffer, 64 << 10} {
		t.Run(fmt.Sprint(buffer), func(t *testing.T) {
			s := startEcho(t, buffer)
			c := dial(t, s)
			msg := randBytes(42, 16<<20)
			werr := make(chan error, 1)
			go func() {
				_, err := c.Write(msg)
				werr <- err
			}()
			waitFor(t, "the server to hit a partial write", func() bool { return s.Stats().Stalls > 0 })
			time.Sleep(200 * time.Millisecond) // client still not reading
			// The server stops reading too, instead of holding what the
			// client cannot take: what it read and has not sent stays
			// small (epoll: one gathered read; io_uring: 256 KiB and
			// what one pass received), far below the 16 MiB written.
			if st := s.Stats(); st.BytesIn-st.BytesOut > 4<<20 {
				t.Errorf("%d bytes read and not sent while the client does not read: the server kept reading", st.BytesIn-st.BytesOut)
			}
			got := make([]byte, len(msg))
			if _, err := io.ReadFull(c, got); err != nil {
				t.Fatalf("reading the echo: %v (server %+v)", err, s.Stats())
			}
			if err := <-werr; err != nil {
				t.Fatalf("write: %v", err)
			}
			if i := firstDiff(got, msg); i >= 0 {
				t.Fatalf("echo differs at byte %d of %d: bytes lost or reordered across partial writes", i, len(msg))
			}
			waitFor(t, fmt.Sprintf("bytes out at %d", len(msg)), func() bool { return s.Stats().BytesOut == uint64(len(msg)) })
		})
	}
}

// A stream of small messages is read --buffer bytes at a time and echoed
// several reads per write: what TCP_INQ says is waiting is read on into the
// same buffer. The test needs TCP_INQ (Linux 4.18).
func TestEchoGathersStreamedReads(t *testing.T) {
	s := startEcho(t, DefaultBuffer)
	c := dial(t, s)
	msg := randBytes(7, 4<<20)
	roundTrip(t, c, msg)
	var st Stats
	waitFor(t, "bytes out at 4 MiB", func() bool { st = s.Stats(); return st.BytesOut == uint64(len(msg)) })
	if st.Messages < uint64(len(msg)/DefaultBuffer) {
		t.Errorf("messages = %d: reads are bigger than the %d-byte buffer", st.Messages, DefaultBuffer)
	}
	// One write per read is what a loop without gathering does. On
	// loopback a 4 MiB write arrives in 64 KiB pieces, so nearly every
	// read finds more waiting and a write echoes two of them.
	if st.Writes == 0 || st.Writes*4 > st.Messages*3 {
		t.Errorf("%d writes for %d reads: want at most three writes per four reads (is TCP_INQ on?)", st.Writes, st.Messages)
	}
}

// Ping-pong: one message in flight is one read and one write (TCP_INQ says
// nothing is left, so no read that finds nothing follows).
func TestEchoPingPongReadsOnce(t *testing.T) {
	s := startEcho(t, DefaultBuffer)
	c := dial(t, s)
	const n = 200
	for i := range n {
		roundTrip(t, c, randBytes(uint64(i), DefaultBuffer))
	}
	var st Stats
	waitFor(t, "200 writes", func() bool { st = s.Stats(); return st.Writes == n })
	if st.Messages != n {
		t.Errorf("%d reads for %d messages of exactly the buffer's size, want %d", st.Messages, n, n)
	}
}

// A client that half-closes (shutdown SHUT_WR) after its last bytes gets
// every byte back, then end of file.
func TestEchoHalfClose(t *testing.T) {
	s := startEcho(t, DefaultBuffer)
	c := dial(t, s)
	msg := randBytes(3, 300000)
	go func() {
		c.Write(msg)
		c.CloseWrite()
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading the echo to end of file: %v", err)
	}
	if i := firstDiff(got, msg); i >= 0 {
		t.Fatalf("echo of %d bytes then EOF: got %d bytes, differing at %d", len(msg), len(got), i)
	}
	waitFor(t, "the connection closed", func() bool { return s.Stats().Open == 0 })
	if st := s.Stats(); st.ClosedErr != 0 {
		t.Errorf("closed on error: %+v", st)
	}
}

// Clients that reset their connection (SO_LINGER 0) in the middle of traffic
// cost the server the connection and nothing else.
func TestEchoAbruptResets(t *testing.T) {
	s := startEcho(t, DefaultBuffer)
	const n = 100
	for i := range n {
		c := dial(t, s)
		if _, err := c.Write(randBytes(uint64(i), 100000)); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			buf := make([]byte, 10)
			io.ReadFull(c, buf)
		}
		c.SetLinger(0)
		c.Close()
	}
	// Every connection is accepted (a reset one waits in the backlog until
	// then) and closed.
	waitFor(t, "the reset connections to be accepted and closed", func() bool {
		st := s.Stats()
		return st.Accepted == n && st.Open == 0
	})
	// The server still serves.
	roundTrip(t, dial(t, s), randBytes(1, 5000))
}

// Many connections arriving at once are all accepted and served.
func TestEchoAcceptStorm(t *testing.T) {
	s := startEcho(t, DefaultBuffer)
	const n = 1000 // 2000 descriptors in this process: under a 4096 hard limit
	conns := make([]net.Conn, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", s.Addr.String(), 10*time.Second)
			if err != nil {
				errs <- err
				return
			}
			conns[i] = c
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	})
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	waitFor(t, "every connection accepted", func() bool { return s.Stats().Accepted == n })
	for i, c := range conns {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		msg := []byte{byte(i), byte(i >> 8)}
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range conns {
		got := make([]byte, 2)
		if _, err := io.ReadFull(c, got); err != nil || got[0] != byte(i) || got[1] != byte(i>>8) {
			t.Fatalf("conn %d: got %v, %v", i, got, err)
		}
	}
	if st := s.Stats(); st.Open != n {
		t.Errorf("open %d, want %d", st.Open, n)
	}
}

// Stop ends the loop, closes every connection and the listening socket, and
// returns the totals.
func TestEchoStop(t *testing.T) {
	s, err := Start(Config{Engine: EngineKernel, Listen: loopback, IO: testIO})
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, s)
	roundTrip(t, c, []byte("hello"))
	st, err := s.Stop()
	if err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if st.Messages != 1 || st.BytesOut != 5 || st.Open != 0 {
		t.Errorf("totals %+v, want 1 message, 5 bytes out, 0 open", st)
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("connection still open after Stop")
	}
	// The port is free again.
	l, err := net.Listen("tcp", s.Addr.String())
	if err != nil {
		t.Fatalf("port not freed by Stop: %v", err)
	}
	l.Close()
	if _, err := s.Stop(); err != nil { // a second Stop is harmless
		t.Errorf("second Stop: %v", err)
	}
}

func TestStartErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := netip.MustParseAddrPort(l.Addr().String())
	_, err = Start(Config{Engine: EngineKernel, Listen: busy})
	var le *ListenError
	if !errors.As(err, &le) || !errors.Is(err, syscall.EADDRINUSE) || le.Call != "bind" {
		t.Fatalf("Start on a busy port: %v, want a bind ListenError with EADDRINUSE", err)
	}
	if want := fmt.Sprintf("ss -ltnp 'sport = :%d'", busy.Port()); !bytes.Contains([]byte(err.Error()), []byte(want)) {
		t.Errorf("error %q does not say how to find the owner (%s)", err, want)
	}
	_, err = Start(Config{Engine: EngineKernel, Listen: netip.MustParseAddrPort("192.0.2.1:8080")})
	if !errors.Is(err, syscall.EADDRNOTAVAIL) {
		t.Errorf("Start on an address not of this host: %v, want EADDRNOTAVAIL", err)
	}
	for _, buf := range []int{-1, MaxBuffer + 1} {
		if _, err := Start(Config{Engine: EngineKernel, Listen: loopback, Buffer: buf}); err == nil {
			t.Errorf("buffer %d accepted", buf)
		}
	}
	if _, err := Start(Config{Engine: "dpdk", Listen: loopback}); !errors.Is(err, ErrUnknownEngine) {
		t.Errorf("unknown engine: %v", err)
	}
}

// Without TCP_INQ (kernels before 4.18) the loop reads once per readiness
// event and writes what it read: every byte still comes back, in order,
// through partial writes and a half-close.
func TestEchoWithoutINQ(t *testing.T) {
	kernelNoINQ = true
	t.Cleanup(func() { kernelNoINQ = false })
	t.Run("sizes", TestEchoMessageSizes)
	t.Run("pipelined", TestEchoPipelined)
	t.Run("half-close", TestEchoHalfClose)
	t.Run("client-stops-reading", TestEchoClientStopsReading)
	s := startEcho(t, DefaultBuffer)
	c := dial(t, s)
	msg := randBytes(9, 1<<20)
	roundTrip(t, c, msg)
	var st Stats
	waitFor(t, "bytes out at 1 MiB", func() bool { st = s.Stats(); return st.BytesOut == uint64(len(msg)) })
	if st.Writes != st.Messages {
		t.Errorf("%d writes for %d reads: without TCP_INQ every read is echoed by itself", st.Writes, st.Messages)
	}
}
