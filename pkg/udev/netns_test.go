package udev

import (
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/photonctl/photonctl/pkg/host"
)

// testNS returns a netlink handle into a fresh network namespace, closed and
// gone at cleanup. Nothing a test does there touches the machine's links.
func testNS(t *testing.T) *netlink.Handle {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a network namespace with dummy links")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	ns, err := netns.New()
	if err != nil {
		t.Skipf("needs network namespaces: %v", err)
	}
	if err := netns.Set(orig); err != nil {
		t.Fatal(err)
	}
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		ns.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(); ns.Close() })
	return h
}

// addDummy creates a dummy link with this name and MAC, up, with addresses.
// Where the kernel has no dummy driver it makes a veth pair instead, the peer
// ("p-" + name) in the same namespace: a virtual link the inventory skips.
func addDummy(t *testing.T, nl *netlink.Handle, name, mac string, addrs ...string) netlink.Link {
	t.Helper()
	hw, err := net.ParseMAC(mac)
	if err != nil {
		t.Fatal(err)
	}
	attrs := netlink.LinkAttrs{Name: name, HardwareAddr: hw}
	if err := nl.LinkAdd(&netlink.Dummy{LinkAttrs: attrs}); err != nil {
		peer := "p-" + name
		if err := nl.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: peer}); err != nil {
			t.Skipf("needs the dummy or veth link type: %v", err)
		}
		pl, err := nl.LinkByName(peer)
		if err != nil {
			t.Fatal(err)
		}
		if err := nl.LinkSetUp(pl); err != nil {
			t.Fatal(err)
		}
	}
	link, err := nl.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := nl.LinkSetUp(link); err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		ad, err := netlink.ParseAddr(a)
		if err != nil {
			t.Fatal(err)
		}
		if err := nl.AddrAdd(link, ad); err != nil {
			t.Fatal(err)
		}
	}
	return link
}

// defaultVia adds a default route through gw on link.
func defaultVia(t *testing.T, nl *netlink.Handle, link netlink.Link, gw string) {
	t.Helper()
	if err := nl.RouteAdd(&netlink.Route{LinkIndex: link.Attrs().Index, Gw: net.ParseIP(gw)}); err != nil {
		t.Fatal(err)
	}
}

// linksFromFixture creates, in the namespace, one dummy link per
// /sys/class/net/<name>/address of the fixture host, with that name and MAC:
// the netlink side of the fixture's sysfs side.
func linksFromFixture(t *testing.T, nl *netlink.Handle, h *host.Host) map[string]netlink.Link {
	t.Helper()
	m, err := filepath.Glob(h.Path("/sys/class/net/*/address"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]netlink.Link{}
	for _, p := range m {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(filepath.Dir(p))
		out[name] = addDummy(t, nl, name, strings.TrimSpace(string(b)))
	}
	return out
}

func addAddr(t *testing.T, nl *netlink.Handle, l netlink.Link, a string) {
	t.Helper()
	ad, err := netlink.ParseAddr(a)
	if err != nil {
		t.Fatal(err)
	}
	if err := nl.AddrAdd(l, ad); err != nil {
		t.Fatal(err)
	}
}
