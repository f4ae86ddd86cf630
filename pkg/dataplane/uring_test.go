package dataplane

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
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

// A real refusal: the test binary again, under a seccomp filter that makes
// io_uring_setup fail with EPERM (as a container runtime's default profile
// does). The engine serves with epoll and its note names the cause.
func TestUringRefusedBySeccomp(t *testing.T) {
	if os.Getenv("PHOTONCTL_SECCOMP_CHILD") == "1" {
		seccompChild()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestUringRefusedBySeccomp$", "-test.v")
	cmd.Env = append(os.Environ(), "PHOTONCTL_SECCOMP_CHILD=1")
	out, err := cmd.CombinedOutput()
	if bytes.Contains(out, []byte("SECCOMP-UNAVAILABLE")) {
		t.Skipf("needs seccomp filters (prctl PR_SET_NO_NEW_PRIVS, seccomp(2)): %s", out)
	}
	if err != nil {
		t.Fatalf("child under seccomp: %v\n%s", err, out)
	}
	t.Logf("child: %s", out)
	for _, want := range []string{"IO=epoll", "io_uring_setup", "operation not permitted", "kernel.io_uring_disabled", "serving with epoll", "ECHO-OK"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("child under a seccomp filter refusing io_uring_setup said %q, want %q in it", out, want)
		}
	}
}

// seccompChild installs, on every thread, a filter that fails
// io_uring_setup (425 on every architecture) with EPERM, then starts the
// kernel engine with IO uring and says what it got.
func seccompChild() {
	const (
		ldAbs   = 0x20 // BPF_LD|BPF_W|BPF_ABS: load seccomp_data.nr
		jeqK    = 0x15 // BPF_JMP|BPF_JEQ|BPF_K
		retK    = 0x06 // BPF_RET|BPF_K
		retErr  = 0x00050000
		retPass = 0x7fff0000
	)
	filter := []unix.SockFilter{
		{Code: ldAbs, K: 0},
		{Code: jeqK, Jt: 0, Jf: 1, K: 425},
		{Code: retK, K: retErr | uint32(syscall.EPERM)},
		{Code: retK, K: retPass},
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fmt.Println("SECCOMP-UNAVAILABLE", err)
		return
	}
	if _, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&prog))); e != 0 {
		fmt.Println("SECCOMP-UNAVAILABLE", e)
		return
	}
	s, err := Start(Config{Engine: EngineKernel, Listen: loopback, IO: IOUring})
	if err != nil {
		fmt.Println("START-FAILED", err)
		os.Exit(1)
	}
	defer s.Stop()
	fmt.Printf("IO=%s note=%s\n", s.IO, s.IONote)
	c, err := net.Dial("tcp", s.Addr.String())
	if err != nil {
		fmt.Println("DIAL-FAILED", err)
		os.Exit(1)
	}
	defer c.Close()
	msg := []byte("under seccomp")
	got := make([]byte, len(msg))
	if _, err := c.Write(msg); err == nil {
		if _, err := io.ReadFull(c, got); err == nil && bytes.Equal(got, msg) {
			fmt.Println("ECHO-OK")
		}
	}
}

// Start and Stop, with connections open and echoing, leave no descriptor
// behind on either loop (the ring, its sockets, the listener).
func TestKernelEngineStopLeaksNoDescriptors(t *testing.T) {
	fds := func() int {
		d, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skipf("needs /proc/self/fd: %v", err)
		}
		return len(d)
	}
	for _, io := range []string{IOEpoll, IOUring} {
		before := fds()
		for range 5 {
			s, err := Start(Config{Engine: EngineKernel, Listen: loopback, IO: io})
			if err != nil {
				t.Fatal(err)
			}
			var conns []net.Conn
			for i := range 10 {
				c, err := net.Dial("tcp", s.Addr.String())
				if err != nil {
					t.Fatal(err)
				}
				roundTrip(t, c, randBytes(uint64(i), 2000))
				conns = append(conns, c)
			}
			if _, err := s.Stop(); err != nil {
				t.Fatal(err)
			}
			for _, c := range conns {
				c.Close()
			}
		}
		if after := fds(); after != before {
			t.Errorf("%s: %d descriptors open before 5 Start/Stop with 10 connections each, %d after", io, before, after)
		}
	}
}
