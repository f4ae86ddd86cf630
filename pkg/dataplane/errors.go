package dataplane

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"
)

// ListenError is a failure to open the listening socket.
type ListenError struct {
	Addr netip.AddrPort
	Call string // the call that failed: socket, bind, listen, ...
	Err  error
}

func (e *ListenError) Error() string {
	hint := ""
	switch {
	case errors.Is(e.Err, syscall.EADDRINUSE):
		hint = fmt.Sprintf("; another process listens on port %d (see: ss -ltnp 'sport = :%d'), stop it or pick another --listen", e.Addr.Port(), e.Addr.Port())
	case errors.Is(e.Err, syscall.EADDRNOTAVAIL):
		hint = fmt.Sprintf("; %s is not an address of this host (or of this network namespace): see ip -br addr", e.Addr.Addr())
	case errors.Is(e.Err, syscall.EACCES):
		hint = "; ports below 1024 need root or CAP_NET_BIND_SERVICE"
	}
	return fmt.Sprintf("listening on %s: %s: %v%s", e.Addr, e.Call, e.Err, hint)
}

func (e *ListenError) Unwrap() error { return e.Err }

// ErrPreflight marks a check made before starting an engine that found the
// host or the config not ready (the caller exits 2: nothing was started).
var ErrPreflight = errors.New("preflight")
