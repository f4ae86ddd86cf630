package dataplane

import (
	"net"
	"net/netip"
	"testing"
)

func TestParseListenAndDial(t *testing.T) {
	for _, c := range []struct {
		in           string
		listen, dial string // "" : an error
	}{
		{"10.99.0.1:8080", "10.99.0.1:8080", "10.99.0.1:8080"},
		{"[::1]:8080", "[::1]:8080", "[::1]:8080"},
		{"[::]:8080", "[::]:8080", "127.0.0.1:8080"},
		{":8080", "0.0.0.0:8080", "127.0.0.1:8080"},
		{"0.0.0.0:8080", "0.0.0.0:8080", "127.0.0.1:8080"},
		{"[fe80::1%lo]:8080", "[fe80::1%lo]:8080", "[fe80::1%lo]:8080"},
		{"[::ffff:10.0.0.1]:80", "10.0.0.1:80", "10.0.0.1:80"},
		{"127.0.0.1:0", "127.0.0.1:0", ""},
		{"127.0.0.1", "", ""},
		{"::1:8080", "", ""},
		{"nowhere", "", ""},
		{"127.0.0.1:99999", "", ""},
	} {
		l, err := ParseListen(c.in)
		if got := l.String(); (err == nil) != (c.listen != "") || err == nil && got != c.listen {
			t.Errorf("ParseListen(%q) = %s, %v; want %q", c.in, got, err, c.listen)
		}
		d, err := ParseDial(c.in)
		if got := d.String(); (err == nil) != (c.dial != "") || err == nil && got != c.dial {
			t.Errorf("ParseDial(%q) = %s, %v; want %q", c.in, got, err, c.dial)
		}
	}
	// localhost resolves as Go resolves it: to a loopback address.
	for _, f := range []func(string) (netip.AddrPort, error){ParseListen, ParseDial} {
		ap, err := f("localhost:8080")
		if err != nil || !ap.Addr().IsLoopback() || ap.Port() != 8080 {
			t.Errorf("localhost:8080 = %s, %v", ap, err)
		}
	}
}

// needIPv6Loopback skips when this kernel has no IPv6 on lo.
func needIPv6Loopback(t *testing.T) {
	t.Helper()
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 on the loopback interface (%v): cannot test [::1]", err)
	}
	l.Close()
}

// The kernel engine serves IPv6 and the load generator connects over it: real
// TCP over ::1, every byte checked (As4 on an IPv6 address used to panic).
func TestEchoAndBenchOverIPv6(t *testing.T) {
	needIPv6Loopback(t)
	s, err := Start(Config{Engine: EngineKernel, Listen: netip.MustParseAddrPort("[::1]:0"), Buffer: DefaultBuffer})
	if err != nil {
		t.Fatalf("Start on [::1]:0: %v", err)
	}
	t.Cleanup(func() { s.Stop() })
	if !s.Addr.Addr().Is6() || s.Addr.Port() == 0 {
		t.Fatalf("listening on %s", s.Addr)
	}
	c := dial(t, s)
	roundTrip(t, c, randBytes(6, 70000))
	c.Close()
	r, err := benchAgainst(t, s.Addr, ModePingPong, 4, 512)
	if err != nil {
		t.Fatalf("bench over ::1: %v", err)
	}
	if r.Connected != 4 || r.Messages == 0 || r.Mismatch != 0 || r.ConnErr != 0 {
		t.Errorf("bench over ::1: %+v", r)
	}
	// A link-local address with its zone: the scope reaches the socket.
	ll, err := ParseListen("[fe80::1%lo]:0")
	if err != nil {
		t.Fatal(err)
	}
	if sa, err := toSockaddr(ll.Addr()); err != nil || sa.scope == 0 {
		t.Errorf("fe80::1%%lo: %+v, %v; want lo's index as the scope", sa, err)
	}
}
