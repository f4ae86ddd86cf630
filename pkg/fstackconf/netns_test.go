package fstackconf

import (
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/photonctl/photonctl/pkg/netnstest"
)

// testNS returns a netlink handle into a throwaway network namespace.
func testNS(t *testing.T) *netlink.Handle { return netnstest.New(t) }

// addLink makes a link named name in the namespace, up, with cidr and (when
// gw is not "") a default route via gw.
func addLink(t *testing.T, h *netlink.Handle, name, cidr, gw string) netlink.Link {
	t.Helper()
	l := netnstest.AddLink(t, h, name, "")
	addAddr(t, h, l, cidr, gw)
	return l
}

func addAddr(t *testing.T, h *netlink.Handle, l netlink.Link, cidr, gw string) {
	t.Helper()
	netnstest.AddAddr(t, h, l, cidr)
	if gw != "" {
		netnstest.DefaultVia(t, h, l, gw)
	}
}
