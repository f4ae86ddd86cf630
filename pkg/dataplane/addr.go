package dataplane

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"
)

// ParseListen reads a listen address the way Go's net.Listen("tcp", s) does:
// "10.99.0.1:8080", "[::1]:8080", "[fe80::1%eth0]:8080", "localhost:8080"
// (the first address the name resolves to, IPv4 first) and ":8080", which
// here means 0.0.0.0:8080, every IPv4 address (the F-Stack engine serves IPv4
// only, and an IPv6 socket fails on hosts booted with ipv6.disable=1).
func ParseListen(s string) (netip.AddrPort, error) {
	ap, err := resolveTCP(s)
	if err != nil {
		return netip.AddrPort{}, err
	}
	if !ap.Addr().IsValid() {
		ap = netip.AddrPortFrom(netip.IPv4Unspecified(), ap.Port())
	}
	return ap, nil
}

// ParseDial reads a server address the way Go's net.Dial("tcp", s) does; an
// empty host (":8080") is this host, 127.0.0.1, as Dial takes it. The port
// must be given.
func ParseDial(s string) (netip.AddrPort, error) {
	ap, err := resolveTCP(s)
	if err != nil {
		return netip.AddrPort{}, err
	}
	if ap.Port() == 0 {
		return netip.AddrPort{}, fmt.Errorf("no port: give HOST:PORT such as 10.99.0.1:8080")
	}
	if !ap.Addr().IsValid() || ap.Addr().IsUnspecified() {
		ap = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), ap.Port())
	}
	return ap, nil
}

// resolveTCP is net.ResolveTCPAddr as a netip.AddrPort; an empty host gives
// the zero Addr.
func resolveTCP(s string) (netip.AddrPort, error) {
	if _, _, err := net.SplitHostPort(s); err != nil {
		return netip.AddrPort{}, err
	}
	ta, err := net.ResolveTCPAddr("tcp", s)
	if err != nil {
		return netip.AddrPort{}, err
	}
	if ta.IP == nil {
		return netip.AddrPortFrom(netip.Addr{}, uint16(ta.Port)), nil
	}
	ip, ok := netip.AddrFromSlice(ta.IP)
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("%q is no IP address", ta.IP)
	}
	ip = ip.Unmap()
	if ta.Zone != "" {
		ip = ip.WithZone(ta.Zone)
	}
	return netip.AddrPortFrom(ip, uint16(ta.Port)), nil
}

// sockaddr is an address in the form the C loops take: the family, 4 or 16
// bytes of address and, for a link-local IPv6 address, the scope (interface
// index) its zone names.
type sockaddr struct {
	family int
	addr   []byte
	scope  uint32
}

func toSockaddr(a netip.Addr) (sockaddr, error) {
	a = a.Unmap()
	if a.Is4() {
		b := a.As4()
		return sockaddr{family: syscall.AF_INET, addr: b[:]}, nil
	}
	if !a.Is6() {
		return sockaddr{}, fmt.Errorf("%q is no IP address", a)
	}
	b := a.As16()
	sa := sockaddr{family: syscall.AF_INET6, addr: b[:]}
	if z := a.Zone(); z != "" {
		if n, err := strconv.ParseUint(z, 10, 32); err == nil {
			sa.scope = uint32(n)
		} else {
			ifi, err := net.InterfaceByName(z)
			if err != nil {
				return sockaddr{}, fmt.Errorf("zone %%%s of %s: %w", z, a, err)
			}
			sa.scope = uint32(ifi.Index)
		}
	}
	return sa, nil
}
