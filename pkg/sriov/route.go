package sriov

import (
	"bufio"
	"io"
	"strings"

	"github.com/photonctl/photonctl/pkg/host"
)

// ParseRoutes reads /proc/net/route and returns the interfaces that carry an
// IPv4 default route (destination 00000000, mask 00000000), each once.
func ParseRoutes(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	first := true
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if first {
			first = false
			if len(f) > 0 && f[0] == "Iface" {
				continue
			}
		}
		if len(f) < 8 {
			continue
		}
		if f[1] == "00000000" && f[7] == "00000000" {
			out = appendOnce(out, f[0])
		}
	}
	return out, sc.Err()
}

// ParseIPv6Routes reads /proc/net/ipv6_route and returns the interfaces that
// carry an IPv6 default route (::/0), each once. The loopback's unreachable
// default is left out.
func ParseIPv6Routes(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 {
			continue
		}
		if f[0] == strings.Repeat("0", 32) && f[1] == "00" && f[9] != "lo" {
			out = appendOnce(out, f[9])
		}
	}
	return out, sc.Err()
}

// DefaultRouteIfaces lists the interfaces carrying a default route, IPv4 or
// IPv6, from /proc/net. A missing file counts as no route.
func DefaultRouteIfaces(h *host.Host) ([]string, error) {
	var out []string
	for _, p := range []struct {
		path  string
		parse func(io.Reader) ([]string, error)
	}{{"/proc/net/route", ParseRoutes}, {"/proc/net/ipv6_route", ParseIPv6Routes}} {
		b, err := h.ReadFile(p.path)
		if host.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		got, err := p.parse(strings.NewReader(string(b)))
		if err != nil {
			return nil, err
		}
		for _, g := range got {
			out = appendOnce(out, g)
		}
	}
	return out, nil
}

func appendOnce(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
