package dataplane

import (
	"errors"
	"strings"
	"syscall"
	"testing"
)

// uringOrSkip skips where this kernel refuses the io_uring loop, saying why.
func uringOrSkip(t *testing.T) {
	t.Helper()
	s, err := Start(Config{Engine: EngineKernel, Listen: loopback, IO: IOUring})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	s.Stop()
	if s.IO != IOUring {
		t.Skipf("needs io_uring with multishot recv (Linux 6.0): %s", s.IONote)
	}
}

// The kernel engine's tests again, on the io_uring loop: every byte back in
// order over many connections, through partial sends to a client that stops
// reading, a half-close, resets, an accept storm, and Stop.
func TestUring(t *testing.T) {
	uringOrSkip(t)
	testIO = IOUring
	t.Cleanup(func() { testIO = IOEpoll })
	for _, tc := range []struct {
		name string
		f    func(*testing.T)
	}{
		{"sizes", TestEchoMessageSizes},
		{"many-connections", TestEchoManyConnections},
		{"pipelined", TestEchoPipelined},
		{"client-stops-reading", TestEchoClientStopsReading},
		{"gathers-streamed-reads", TestEchoGathersStreamedReads},
		{"ping-pong-reads-once", TestEchoPingPongReadsOnce},
		{"half-close", TestEchoHalfClose},
		{"abrupt-resets", TestEchoAbruptResets},
		{"accept-storm", TestEchoAcceptStorm},
		{"stop", TestEchoStop},
	} {
		t.Run(tc.name, tc.f)
	}
}

// Where io_uring_setup is refused (a seccomp filter, kernel.io_uring_disabled)
// the kernel engine serves with epoll and says so.
func TestUringRefusedFallsBack(t *testing.T) {
	for _, tc := range []struct {
		errno syscall.Errno
		want  string
	}{
		{syscall.EPERM, "kernel.io_uring_disabled"},
		{syscall.ENOSYS, "seccomp"},
	} {
		kernelUringRefused = tc.errno
		s, err := Start(Config{Engine: EngineKernel, Listen: loopback, IO: IOUring})
		kernelUringRefused = 0
		if err != nil {
			t.Fatalf("Start with io_uring refused (%v): %v, want a server on epoll", tc.errno, err)
		}
		if s.IO != IOEpoll || !strings.Contains(s.IONote, "io_uring_setup") || !strings.Contains(s.IONote, tc.want) ||
			!strings.Contains(s.IONote, "serving with epoll") {
			t.Errorf("io_uring refused with %v: IO %q note %q, want epoll and a note naming io_uring_setup and %s", tc.errno, s.IO, s.IONote, tc.want)
		}
		roundTrip(t, dial(t, s), randBytes(5, 3000))
		s.Stop()
	}
}

func TestResolveIO(t *testing.T) {
	for in, want := range map[string]string{"": IOEpoll, "auto": IOEpoll, "epoll": IOEpoll, "uring": IOUring} {
		if got, err := ResolveIO(in); got != want || err != nil {
			t.Errorf("ResolveIO(%q) = %q, %v, want %q", in, got, err, want)
		}
	}
	if _, err := ResolveIO("aio"); !errors.Is(err, ErrUnknownIO) {
		t.Errorf("ResolveIO(aio): %v, want ErrUnknownIO", err)
	}
	if _, err := Start(Config{Engine: EngineKernel, Listen: loopback, IO: "aio"}); !errors.Is(err, ErrUnknownIO) {
		t.Errorf("Start with IO aio: %v, want ErrUnknownIO", err)
	}
}
