package dataplane

/*
#cgo CFLAGS: -O2 -Wall
#include <stdlib.h>
#include "echo.h"
*/
import "C"

import (
	"fmt"
	"net/netip"
	"runtime"
	"syscall"
)

func init() { register(EngineKernel, startKernel) }

type kernelLoop struct {
	e *C.pc_echo
	// io is the loop that runs (epoll or uring); note says why it is
	// epoll when uring was asked for.
	io, note string
}

// kernelNoINQ, set by tests, starts kernel engines whose connections go
// without TCP_INQ, as on kernels before 4.18.
var kernelNoINQ bool

// kernelUringRefused, set by tests, stands for a kernel that refuses
// io_uring_setup with this errno (as under a seccomp filter or
// kernel.io_uring_disabled), without calling it.
var kernelUringRefused syscall.Errno

func startKernel(cfg Config) (backend, netip.AddrPort, error) {
	addr := cfg.Listen.Addr().Unmap()
	sa, err := toSockaddr(addr)
	if err != nil {
		return nil, netip.AddrPort{}, &ListenError{Addr: cfg.Listen, Call: "address", Err: err}
	}
	cb := C.CBytes(sa.addr)
	defer C.free(cb)
	var port, errno C.int
	var what *C.char
	e := C.pc_echo_new(C.int(sa.family), (*C.uchar)(cb), C.uint(sa.scope), C.int(cfg.Listen.Port()), C.int(cfg.Buffer), &port, &errno, &what)
	if e == nil {
		err := syscall.Errno(errno)
		return nil, netip.AddrPort{}, &ListenError{Addr: cfg.Listen, Call: C.GoString(what), Err: err}
	}
	if kernelNoINQ {
		C.pc_echo_no_inq(e)
	}
	k := &kernelLoop{e: e, io: IOEpoll}
	if io, _ := ResolveIO(cfg.IO); io == IOUring {
		k.note = k.uring()
	}
	return k, netip.AddrPortFrom(addr, uint16(port)), nil
}

// uring switches the loop to io_uring; where the kernel refuses, the loop
// stays on epoll and the returned note says why.
func (k *kernelLoop) uring() string {
	var errno C.int
	var what *C.char
	err, call := kernelUringRefused, "io_uring_setup"
	if err == 0 {
		if C.pc_echo_uring(k.e, &errno, &what) == 0 {
			k.io = IOUring
			return ""
		}
		err, call = syscall.Errno(errno), C.GoString(what)
	}
	why := ""
	switch err {
	case syscall.ENOSYS:
		why = " (a kernel without io_uring, or a seccomp filter that hides it)"
	case syscall.EPERM, syscall.EACCES:
		why = " (sysctl kernel.io_uring_disabled, or a seccomp filter such as a container runtime's default)"
	case syscall.EINVAL:
		why = " (the io_uring loop needs Linux 6.0 or later)"
	}
	return fmt.Sprintf("io_uring refused: %s: %v%s; serving with epoll", call, err, why)
}

func (k *kernelLoop) run() error {
	// One OS thread for the loop: nothing else to schedule there.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if rc := C.pc_echo_run(k.e); rc != 0 {
		call := "epoll_wait"
		if k.io == IOUring {
			call = "io_uring_enter"
		}
		return fmt.Errorf("kernel echo loop: %s: %w", call, syscall.Errno(rc))
	}
	return nil
}

func (k *kernelLoop) stop() { C.pc_echo_stop(k.e) }

func (k *kernelLoop) stats() Stats {
	var s C.pc_echo_stats
	C.pc_echo_stats_read(k.e, &s)
	return Stats{
		Accepted:  uint64(s.accepted),
		Open:      uint64(s.open),
		Messages:  uint64(s.messages),
		BytesIn:   uint64(s.bytes_in),
		BytesOut:  uint64(s.bytes_out),
		ClosedErr: uint64(s.closed_err),
		Stalls:    uint64(s.stalls),
		Writes:    uint64(s.writes),
	}
}

func (k *kernelLoop) close() {
	C.pc_echo_free(k.e)
	k.e = nil
}
