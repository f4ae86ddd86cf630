package main

import (
	"net"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/fstackconf"
)

// TestSetupFstackOnCX4 runs `photonctl setup --only fstack` on the fixture
// ConnectX-4 host with the command's own netlink handle, on a thread moved
// into a throwaway namespace where ens1f0 has the PF's address and route.
func TestSetupFstackOnCX4(t *testing.T) {
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

	nl, err := netlink.NewHandle()
	if err != nil {
		t.Fatal(err)
	}
	defer nl.Close()
	if err := nl.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "ens1f0"}, PeerName: "ens1f0p"}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"ens1f0", "ens1f0p"} {
		l, _ := nl.LinkByName(n)
		nl.LinkSetUp(l)
	}
	l, _ := nl.LinkByName("ens1f0")
	a, _ := netlink.ParseAddr("10.20.30.40/24")
	a.Flags |= unix.IFA_F_NODAD
	if err := nl.AddrAdd(l, a); err != nil {
		t.Fatal(err)
	}
	if err := nl.RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Gw: net.ParseIP("10.20.30.1")}); err != nil {
		t.Fatal(err)
	}

	for _, v := range []struct{ version, key string }{{"1.24", "pci_whitelist"}, {"1.25", "allow"}} {
		h := fixture.Host(t, "fstack-cx4", "fstack-cx4-vfs")
		args := []string{"--root", h.Root(), "setup", "--only", "fstack", "--fstack-version", v.version, "--yes"}
		code, out, errs := runConf(t, args...)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s\n%s", v.version, code, out, errs)
		}
		if !strings.Contains(out, "- pkt_tx_delay=100") || !strings.Contains(out, "+ pkt_tx_delay=0") {
			t.Errorf("%s: the plan does not show the pkt_tx_delay line:\n%s", v.version, out)
		}
		b, err := h.ReadFile("/etc/f-stack.conf")
		if err != nil {
			t.Fatal(err)
		}
		f, err := fstackconf.ParseBytes(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, kv := range [][3]string{
			{"dpdk", "pkt_tx_delay", "0"}, {"dpdk", v.key, "0000:03:00.0,0000:03:00.2"},
			{"port0", "addr", "10.20.30.40"}, {"port0", "netmask", "255.255.255.0"},
			{"port0", "broadcast", "10.20.30.255"}, {"port0", "gateway", "10.20.30.1"},
		} {
			if got, _ := f.Get(kv[0], kv[1]); got != kv[2] {
				t.Errorf("%s: [%s] %s = %q, want %q", v.version, kv[0], kv[1], got, kv[2])
			}
		}
		code, out, errs = runConf(t, append(args, "-o", "json")...)
		if code != 0 || !strings.Contains(out, `"status": "ok"`) || strings.Contains(out, `"backup_id"`) {
			t.Errorf("%s: second run is not a no-op: exit %d\n%s\n%s", v.version, code, out, errs)
		}
		code, out, errs = runConf(t, "--root", h.Root(), "conf", "render", "--fstack-version", v.version)
		if code != 0 || out != string(b) || errs != "" {
			t.Errorf("%s: conf render after setup: exit %d, stderr %q, same as the file: %v", v.version, code, errs, out == string(b))
		}
		code, out, errs = runConf(t, "--root", h.Root(), "conf", "check", "--fstack-version", v.version)
		if code != 0 {
			t.Errorf("%s: conf check of the written file: exit %d\n%s%s", v.version, code, out, errs)
		}
	}
}
