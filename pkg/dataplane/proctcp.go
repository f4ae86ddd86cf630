package dataplane

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// TCPListen is the state of a listening socket in /proc/net/tcp.
const TCPListen = 0x0A

// Socket is one line of /proc/net/tcp or /proc/net/tcp6.
type Socket struct {
	Local netip.AddrPort
	State int
	Inode uint64
}

// ParseProcNetTCP reads /proc/net/tcp or /proc/net/tcp6. Equivalent to the
// listening half of: ss -tan.
func ParseProcNetTCP(r io.Reader) ([]Socket, error) {
	sc := bufio.NewScanner(r)
	var out []Socket
	n := 0
	for sc.Scan() {
		n++
		f := strings.Fields(sc.Text())
		if n == 1 || len(f) == 0 {
			continue // header
		}
		if len(f) < 10 {
			return out, fmt.Errorf("line %d: %d fields, want at least 10", n, len(f))
		}
		ap, err := parseHexAddrPort(f[1])
		if err != nil {
			return out, fmt.Errorf("line %d: local address %q: %w", n, f[1], err)
		}
		st, err := strconv.ParseUint(f[3], 16, 8)
		if err != nil {
			return out, fmt.Errorf("line %d: state %q: %w", n, f[3], err)
		}
		ino, err := strconv.ParseUint(f[9], 10, 64)
		if err != nil {
			return out, fmt.Errorf("line %d: inode %q: %w", n, f[9], err)
		}
		out = append(out, Socket{Local: ap, State: int(st), Inode: ino})
	}
	return out, sc.Err()
}

// parseHexAddrPort reads the kernel's "0100007F:1F90" (IPv4, or 32 hex
// digits for IPv6), each 32-bit word in host (little-endian) order.
func parseHexAddrPort(s string) (netip.AddrPort, error) {
	a, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("no ':'")
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("port: %w", err)
	}
	raw, err := hex.DecodeString(a)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, fmt.Errorf("address is not 8 or 32 hex digits")
	}
	for i := 0; i < len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	ip, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(ip.Unmap(), uint16(port)), nil
}
