package dataplane

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"sync"
	"time"
)

// Engine names.
const (
	EngineAuto   = "auto"
	EngineKernel = "kernel"
	EngineFstack = "fstack"
)

// DefaultBuffer is the read size of the seed's echo server.
const DefaultBuffer = 512

// MaxBuffer bounds --buffer.
const MaxBuffer = 16 << 20

// ErrNoFstack is returned when the fstack engine is asked for in a binary
// built without it.
var ErrNoFstack = errors.New("this photonctl was built without the fstack engine; build one against an installed libfstack with: make fstack FF_PATH=/usr/local")

// ErrUnknownEngine is returned for an engine name that is not one of auto,
// kernel, fstack.
var ErrUnknownEngine = errors.New("unknown engine")

// Config is what an echo server is started with.
type Config struct {
	// Engine is auto, kernel or fstack; auto is fstack where built in.
	Engine string
	// Listen is the address and port to listen on (port 0: any free port).
	Listen netip.AddrPort
	// Buffer is the most bytes read (and echoed) at a time.
	Buffer int
	// Conf is F-Stack's config file (fstack engine only).
	Conf string
	// IO is how the kernel engine waits for its sockets: auto, epoll or
	// uring (see IOAuto). Other engines ignore it.
	IO string
}

// The kernel engine's I/O loops (Config.IO, run echo --io).
const (
	// IOAuto is epoll until io_uring is measured better on a quiet
	// machine (docs/dataplane.md).
	IOAuto  = "auto"
	IOEpoll = "epoll"
	// IOUring is the io_uring loop (Linux 6.0 or later). Where the
	// kernel refuses io_uring the engine serves with epoll and says why
	// in Server.IONote.
	IOUring = "uring"
)

// ErrUnknownIO is returned for a Config.IO that is not auto, epoll or uring.
var ErrUnknownIO = errors.New("unknown I/O loop")

// ResolveIO turns a Config.IO (auto included) into epoll or uring.
func ResolveIO(io string) (string, error) {
	switch io {
	case "", IOAuto, IOEpoll:
		return IOEpoll, nil
	case IOUring:
		return IOUring, nil
	}
	return "", fmt.Errorf("%w %q: give auto, epoll or uring", ErrUnknownIO, io)
}

// Stats are a server's counters.
type Stats struct {
	Accepted uint64 `json:"accepted"`
	Open     uint64 `json:"open"`
	// Messages counts reads that returned data, each at most Buffer bytes.
	Messages  uint64 `json:"messages"`
	BytesIn   uint64 `json:"bytes_in"`
	BytesOut  uint64 `json:"bytes_out"`
	ClosedErr uint64 `json:"closed_on_error"`
	// Stalls counts partial writes: the rest was kept and sent when the
	// socket became writable again.
	Stalls uint64 `json:"stalls"`
	// Writes counts the writes that sent bytes. The kernel engine echoes
	// the reads that find more waiting with one write, so a stream of
	// small messages takes fewer writes than Messages.
	Writes uint64 `json:"writes"`
}

// Sub returns the counters accumulated between prev and s (Open stays s's).
func (s Stats) Sub(prev Stats) Stats {
	return Stats{
		Accepted:  s.Accepted - prev.Accepted,
		Open:      s.Open,
		Messages:  s.Messages - prev.Messages,
		BytesIn:   s.BytesIn - prev.BytesIn,
		BytesOut:  s.BytesOut - prev.BytesOut,
		ClosedErr: s.ClosedErr - prev.ClosedErr,
		Stalls:    s.Stalls - prev.Stalls,
		Writes:    s.Writes - prev.Writes,
	}
}

// backend is one engine's loop.
type backend interface {
	// run blocks until stop; it returns the loop's error.
	run() error
	stop()
	stats() Stats
	// close frees the loop after run returned.
	close()
}

// starter opens an engine's listening socket (errors here are the caller's
// to report before anything runs).
type starter func(cfg Config) (backend, netip.AddrPort, error)

var (
	enginesMu sync.Mutex
	starters  = map[string]starter{}
)

func register(name string, s starter) {
	enginesMu.Lock()
	defer enginesMu.Unlock()
	starters[name] = s
}

// Engines lists the engines built into this binary.
func Engines() []string {
	enginesMu.Lock()
	defer enginesMu.Unlock()
	var n []string
	for k := range starters {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Resolve turns an engine name (auto included) into a built-in engine.
func Resolve(engine string) (string, error) {
	switch engine {
	case "", EngineAuto:
		if hasEngine(EngineFstack) {
			return EngineFstack, nil
		}
		return EngineKernel, nil
	case EngineKernel:
		return EngineKernel, nil
	case EngineFstack:
		if !hasEngine(EngineFstack) {
			return "", ErrNoFstack
		}
		return EngineFstack, nil
	}
	return "", fmt.Errorf("%w %q: give auto, kernel or fstack", ErrUnknownEngine, engine)
}

func hasEngine(name string) bool {
	enginesMu.Lock()
	defer enginesMu.Unlock()
	_, ok := starters[name]
	return ok
}

// Server is a running echo server.
type Server struct {
	Engine string
	Addr   netip.AddrPort
	// IO is the kernel engine's loop, epoll or uring; empty for others.
	IO string
	// IONote says why the kernel engine serves with epoll when uring was
	// asked for (io_uring_setup refused, kernel too old); else empty.
	IONote string

	b       backend
	done    chan struct{}
	err     error
	stopped sync.Once
	final   Stats
	started time.Time
}

// Start starts an echo server; its loop runs until Stop.
func Start(cfg Config) (*Server, error) {
	name, err := Resolve(cfg.Engine)
	if err != nil {
		return nil, err
	}
	if cfg.Buffer == 0 {
		cfg.Buffer = DefaultBuffer
	}
	if cfg.Buffer < 1 || cfg.Buffer > MaxBuffer {
		return nil, fmt.Errorf("buffer %d bytes: give 1 to %d", cfg.Buffer, MaxBuffer)
	}
	if !cfg.Listen.IsValid() {
		return nil, fmt.Errorf("listen address %q is not valid: give ADDR:PORT such as 0.0.0.0:8080", cfg.Listen)
	}
	enginesMu.Lock()
	st := starters[name]
	enginesMu.Unlock()
	if _, err := ResolveIO(cfg.IO); err != nil {
		return nil, err
	}
	b, addr, err := st(cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{Engine: name, Addr: addr, b: b, done: make(chan struct{}), started: time.Now()}
	if k, ok := b.(*kernelLoop); ok {
		s.IO, s.IONote = k.io, k.note
	}
	go func() {
		s.err = b.run()
		close(s.done)
	}()
	return s, nil
}

// Stats reads the loop's counters.
func (s *Server) Stats() Stats { return s.b.stats() }

// Done is closed when the loop has ended.
func (s *Server) Done() <-chan struct{} { return s.done }

// Stop stops the loop, waits for it, closes every connection and returns the
// final counters and the loop's error.
func (s *Server) Stop() (Stats, error) {
	s.stopped.Do(func() {
		s.b.stop()
		<-s.done
		s.final = s.b.stats()
		s.final.Open = 0
		s.b.close()
	})
	return s.final, s.err
}
