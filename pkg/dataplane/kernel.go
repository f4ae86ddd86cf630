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

type kernelLoop struct{ e *C.pc_echo }

// kernelNoINQ, set by tests, starts kernel engines whose connections go
// without TCP_INQ, as on kernels before 4.18.
var kernelNoINQ bool

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
	return &kernelLoop{e: e}, netip.AddrPortFrom(addr, uint16(port)), nil
}

func (k *kernelLoop) run() error {
	// One OS thread for the loop: nothing else to schedule there.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if rc := C.pc_echo_run(k.e); rc != 0 {
		return fmt.Errorf("kernel echo loop: epoll_wait: %w", syscall.Errno(rc))
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
