package udev

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/netnstest"
)

// testNS returns a netlink handle into a throwaway network namespace.
func testNS(t *testing.T) *netlink.Handle { return netnstest.New(t) }

// addDummy creates a link with this name and MAC, up, with addresses (see
// netnstest.AddLink: a dummy, or a veth where the kernel has no dummy).
func addDummy(t *testing.T, nl *netlink.Handle, name, mac string, addrs ...string) netlink.Link {
	t.Helper()
	return netnstest.AddLink(t, nl, name, mac, addrs...)
}

func defaultVia(t *testing.T, nl *netlink.Handle, link netlink.Link, gw string) {
	t.Helper()
	netnstest.DefaultVia(t, nl, link, gw)
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
	netnstest.AddAddr(t, nl, l, a)
}
