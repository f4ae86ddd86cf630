// Package netnstest gives tests a throwaway network namespace and links in
// it, so that a test touching links, addresses or routes never touches the
// machine's. For tests only.
package netnstest

import (
	"net"
	"os"
	"runtime"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// New returns a netlink handle into a fresh network namespace, closed and gone
// at cleanup. It skips the test, saying why, without root or namespaces.
func New(t testing.TB) *netlink.Handle {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a throwaway network namespace")
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
		ns.Close()
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

// AddLink creates a link named name, up, with mac (when not "") and the
// addresses. It is a dummy link where the kernel has the dummy driver, and
// otherwise one end of a veth pair whose peer (PeerName) is also
// up in the namespace: both are virtual links without a PCI device.
func AddLink(t testing.TB, h *netlink.Handle, name, mac string, cidrs ...string) netlink.Link {
	t.Helper()
	attrs := netlink.LinkAttrs{Name: name}
	if mac != "" {
		hw, err := net.ParseMAC(mac)
		if err != nil {
			t.Fatal(err)
		}
		attrs.HardwareAddr = hw
	}
	if err := h.LinkAdd(&netlink.Dummy{LinkAttrs: attrs}); err != nil {
		peer := PeerName(name)
		if err := h.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: peer}); err != nil {
			t.Skipf("needs the dummy or veth link type: %v", err)
		}
		pl, err := h.LinkByName(peer)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.LinkSetUp(pl); err != nil {
			t.Fatal(err)
		}
	}
	l, err := h.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.LinkSetUp(l); err != nil {
		t.Fatal(err)
	}
	for _, c := range cidrs {
		AddAddr(t, h, l, c)
	}
	return l
}

// PeerName is the veth peer AddLink makes where there is no dummy driver.
func PeerName(name string) string {
	p := "p-" + name
	if len(p) > 15 {
		p = p[:15]
	}
	return p
}

// AddAddr puts an address (CIDR) on a link.
func AddAddr(t testing.TB, h *netlink.Handle, l netlink.Link, cidr string) {
	t.Helper()
	a, err := netlink.ParseAddr(cidr)
	if err != nil {
		t.Fatal(err)
	}
	if a.IP.To4() == nil {
		a.Flags |= unix.IFA_F_NODAD // usable at once, not tentative
	}
	if err := h.AddrAdd(l, a); err != nil {
		t.Fatalf("adding %s to %s: %v", cidr, l.Attrs().Name, err)
	}
}

// DefaultVia adds a default route through gw on the link.
func DefaultVia(t testing.TB, h *netlink.Handle, l netlink.Link, gw string) {
	t.Helper()
	if err := h.RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Gw: net.ParseIP(gw)}); err != nil {
		t.Fatalf("adding a default route via %s: %v", gw, err)
	}
}

// Within runs f on this goroutine's OS thread moved into a fresh network
// namespace, with a handle into it, and moves the thread back afterwards:
// for code that, like the binary, works on "the current namespace". It skips
// the test, saying why, without root or namespaces.
func Within(t testing.TB, f func(h *netlink.Handle)) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a throwaway network namespace")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	ns, err := netns.New() // this thread is now in ns
	if err != nil {
		t.Skipf("needs network namespaces: %v", err)
	}
	defer ns.Close()
	defer netns.Set(orig)
	h, err := netlink.NewHandle()
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	f(h)
}
