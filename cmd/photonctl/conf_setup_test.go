package main

import (
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/fstackconf"
	"github.com/photonctl/photonctl/pkg/netnstest"
)

// TestSetupFstackOnCX4 runs `photonctl setup --only fstack` on the fixture
// ConnectX-4 host with the command's own netlink handle, on a thread moved
// into a throwaway namespace where ens1f0 has the PF's address and route.
func TestSetupFstackOnCX4(t *testing.T) {
	netnstest.Within(t, func(nl *netlink.Handle) {
		l := netnstest.AddLink(t, nl, "ens1f0", "")
		netnstest.AddAddr(t, nl, l, "10.20.30.40/24")
		netnstest.DefaultVia(t, nl, l, "10.20.30.1")
		setupFstackOnCX4(t)
	})
}

// setupFstackOnCX4 runs setup --only fstack for 1.24 and 1.25 and checks what
// it wrote, that a second run changes nothing, and that conf render and conf
// check agree with the file.
func setupFstackOnCX4(t *testing.T) {

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
