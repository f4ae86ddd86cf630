//go:build fstack

package dataplane

/*
#cgo CFLAGS: -O2 -Wall -DINET6
#cgo LDFLAGS: -lfstack -lrte_net_bond -lcrypto -lnuma -lrt -lm -ldl -pthread
#cgo pkg-config: libdpdk
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <rte_version.h>
#include "echo_fstack.h"

// pc_rte_lib is the file of the loaded object that holds p (the string
// rte_version() returns lives in librte_eal), or "".
static const char *pc_rte_lib(const void *p) {
	Dl_info i;
	if (dladdr(p, &i) && i.dli_fname != NULL)
		return i.dli_fname;
	return "";
}
*/
import "C"

import (
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"syscall"
	"unsafe"

	"github.com/photonctl/photonctl/pkg/host"
)

func init() {
	register(EngineFstack, startFstack)
	loadedDPDK = func() (string, string) {
		v := C.rte_version()
		return C.GoString(v), C.GoString(C.pc_rte_lib(unsafe.Pointer(v)))
	}
}

// fstackLoop runs every ff_* call on one locked OS thread: F-Stack keeps
// its state thread-local, from ff_init on.
type fstackLoop struct {
	h      *host.Host
	prefix string
	runCh  chan struct{}
	done   chan struct{}

	mu    sync.Mutex
	e     *C.pc_ffecho // nil once freed
	final Stats
}

func startFstack(cfg Config) (backend, netip.AddrPort, error) {
	h, err := host.New("/")
	if err != nil {
		return nil, netip.AddrPort{}, err
	}
	conf, err := Preflight(h, cfg.Conf, cfg.Listen.Port())
	if err != nil {
		return nil, netip.AddrPort{}, err
	}
	a, _ := conf.Get("port0", "addr")
	port0 := parseIPv4(a)
	if l := cfg.Listen.Addr().Unmap(); !l.IsUnspecified() && l != port0 {
		return nil, netip.AddrPort{}, fmt.Errorf("%w: --listen %s: F-Stack serves on [port0] addr=%s of %s; give --listen %s:%d or 0.0.0.0:%d",
			ErrPreflight, cfg.Listen, port0, cfg.Conf, port0, cfg.Listen.Port(), cfg.Listen.Port())
	}
	l := &fstackLoop{h: h, prefix: conf.DPDKPrefix(), runCh: make(chan struct{}), done: make(chan struct{})}
	if _, err := CleanIfUnused(h, l.prefix); err != nil {
		return nil, netip.AddrPort{}, err
	}
	ready := make(chan error, 1)
	go func() {
		// Never unlocked: the thread holds F-Stack's state and ends with
		// this goroutine.
		runtime.LockOSThread()
		cconf := C.CString(cfg.Conf)
		defer C.free(unsafe.Pointer(cconf))
		if rc := C.pc_ff_init(cconf); rc != 0 {
			ready <- fmt.Errorf("ff_init with %s: %w", cfg.Conf, syscall.Errno(rc))
			return
		}
		var errno C.int
		var what *C.char
		e := C.pc_ff_new(C.int(cfg.Listen.Port()), C.int(cfg.Buffer), &errno, &what)
		if e == nil {
			ready <- &ListenError{Addr: netip.AddrPortFrom(port0, cfg.Listen.Port()), Call: C.GoString(what), Err: syscall.Errno(errno)}
			return
		}
		l.mu.Lock()
		l.e = e
		l.mu.Unlock()
		ready <- nil
		<-l.runCh
		C.pc_ff_run(e)
		l.mu.Lock()
		l.final = l.readStats()
		C.pc_ff_free(e)
		l.e = nil
		l.mu.Unlock()
		close(l.done)
	}()
	if err := <-ready; err != nil {
		return nil, netip.AddrPort{}, err
	}
	return l, netip.AddrPortFrom(port0, cfg.Listen.Port()), nil
}

func (l *fstackLoop) run() error {
	close(l.runCh)
	<-l.done
	return nil
}

func (l *fstackLoop) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.e != nil {
		C.pc_ff_stop(l.e)
	}
}

func (l *fstackLoop) readStats() Stats {
	var s C.pc_echo_stats
	C.pc_ff_stats_read(l.e, &s)
	return Stats{Accepted: uint64(s.accepted), Open: uint64(s.open), Messages: uint64(s.messages),
		BytesIn: uint64(s.bytes_in), BytesOut: uint64(s.bytes_out), ClosedErr: uint64(s.closed_err), Stalls: uint64(s.stalls),
		Writes: uint64(s.writes)}
}

func (l *fstackLoop) stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.e == nil {
		return l.final
	}
	return l.readStats()
}

// close removes the DPDK runtime files of the conf's prefix (photonctl's,
// or DPDK's default "rte" when the conf sets no file_prefix): this process
// was that prefix's primary, so they are its own, and its hugepages go
// back to the free pool when it exits. Without it a clean stop left
// /run/dpdk/rte and the hugepage files behind, and doctor failed the
// hugepage reservation (found on the e2e guest, issue 17). The loop
// already closed its sockets on its own thread.
func (l *fstackLoop) close() {
	CleanRuntime(l.h, l.prefix)
}
