package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/fstackconf"
	"github.com/photonctl/photonctl/pkg/host"
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
		confHas(t, h, v.version, [][3]string{
			{"dpdk", "pkt_tx_delay", "0"}, {"dpdk", v.key, "0000:03:00.0,0000:03:00.2"},
			{"port0", "addr", "10.20.30.40"}, {"port0", "netmask", "255.255.255.0"},
			{"port0", "broadcast", "10.20.30.255"}, {"port0", "gateway", "10.20.30.1"},
		})
		code, out, errs = runConf(t, append(args, "-o", "json")...)
		if code != 0 || !strings.Contains(out, `"status": "ok"`) || strings.Contains(out, `"backup_id"`) {
			t.Errorf("%s: second run is not a no-op: exit %d\n%s\n%s", v.version, code, out, errs)
		}
		b, err := h.ReadFile("/etc/f-stack.conf")
		if err != nil {
			t.Fatal(err)
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

// TestSetupFstackOwnAddressOnIgb is issue 17's host: the igb PF enp1s0
// keeps its kernel address 10.0.3.15/24 (no default route on it), DPDK
// drives the VF on vfio-pci, and F-Stack gets 10.0.3.20/24 of its own.
func TestSetupFstackOwnAddressOnIgb(t *testing.T) {
	netnstest.Within(t, func(nl *netlink.Handle) {
		l := netnstest.AddLink(t, nl, "enp1s0", "")
		netnstest.AddAddr(t, nl, l, "10.0.3.15/24")
		base := []string{"setup", "--only", "fstack", "--pf", "enp1s0", "--fstack-version", "1.24", "--yes"}

		h := fixture.Host(t, "q35-igb", "q35-igb-vfs")
		root := []string{"--root", h.Root()}
		for _, bad := range []struct {
			args []string
			want string
		}{
			{[]string{"--fstack-addr", "10.0.3.20/24"}, "F-Stack requires a gateway in [port0]"},
			{[]string{"--fstack-addr", "10.0.3.15/24", "--fstack-gateway", "10.0.3.1"}, "enp1s0 already has 10.0.3.15"},
			{[]string{"--fstack-addr", "10.0.3.20"}, "is not an IPv4 address with its prefix length"},
			{[]string{"--fstack-gateway", "10.0.3.1"}, "without fstack_addr"},
			{[]string{"--fstack-addr", "10.0.3.20/24", "--fstack-gateway", "10.0.4.1"}, "is not a host address inside fstack_addr's network 10.0.3.0/24"},
		} {
			code, out, errs := runConf(t, append(append(root, base...), bad.args...)...)
			if code != 2 || !strings.Contains(out+errs, bad.want) {
				t.Errorf("%v: exit %d, want 2 saying %q\n%s%s", bad.args, code, bad.want, out, errs)
			}
			if h.Exists("/etc/f-stack.conf") {
				t.Fatalf("%v: the file was written", bad.args)
			}
		}

		args := append(append(root, base...), "--fstack-addr", "10.0.3.20/24", "--fstack-gateway", "10.0.3.1")
		code, out, errs := runConf(t, args...)
		if code != 0 || !strings.Contains(out, "[port0] 10.0.3.20/24 via 10.0.3.1 (an address of its own, not enp1s0's") {
			t.Fatalf("exit %d\n%s\n%s", code, out, errs)
		}
		confHas(t, h, "own address", [][3]string{
			{"dpdk", "pci_whitelist", "0000:01:10.0"}, {"dpdk", "memory", "54"},
			{"port0", "addr", "10.0.3.20"}, {"port0", "netmask", "255.255.255.0"},
			{"port0", "broadcast", "10.0.3.255"}, {"port0", "gateway", "10.0.3.1"},
		})
		if code, out, errs := runConf(t, append(args, "-o", "json")...); code != 0 || !strings.Contains(out, `"status": "ok"`) {
			t.Errorf("second run is not a no-op: exit %d\n%s\n%s", code, out, errs)
		}

		// doctor with the same spec: [port0] is an address of its own.
		cfg := filepath.Join(t.TempDir(), "host.yaml")
		if err := os.WriteFile(cfg, []byte("pf: enp1s0\nfstack_version: \"1.24\"\nfstack_addr: 10.0.3.20/24\nfstack_gateway: 10.0.3.1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, out, errs = runConf(t, "--root", h.Root(), "--config", cfg, "-o", "json", "doctor", "--only", "fstackconf")
		if !strings.Contains(out, "[port0] is an address of its own, 10.0.3.20/255.255.255.0 via 10.0.3.1") {
			t.Errorf("doctor:\n%s\n%s", out, errs)
		}

		// The hugepages the spec reserves must hold memory=54.
		h2 := fixture.Host(t, "base-centos7-2node", "q35-igb", "q35-igb-vfs")
		code, out, errs = runConf(t, append([]string{"--root", h2.Root(), "setup", "--only", "fstack,hugepages", "--hugepages", "20", "--dry-run"}, append(base[3:], "--fstack-addr", "10.0.3.20/24", "--fstack-gateway", "10.0.3.1")...)...)
		if code != 2 || !strings.Contains(out+errs, "--hugepages 20 reserves 40 MB of 2M pages, less than [dpdk] memory=54 MB") || !strings.Contains(out+errs, "give --hugepages 27 or more") {
			t.Errorf("--hugepages 20: exit %d\n%s\n%s", code, out, errs)
		}
		code, out, errs = runConf(t, append([]string{"--root", h2.Root(), "setup", "--only", "fstack,hugepages", "--hugepages", "27", "--dry-run"}, append(base[3:], "--fstack-addr", "10.0.3.20/24", "--fstack-gateway", "10.0.3.1")...)...)
		if code != 0 || !strings.Contains(out, "[dpdk] memory=54 MB") {
			t.Errorf("--hugepages 27: exit %d\n%s\n%s", code, out, errs)
		}
	})
}

// confHas checks the host's /etc/f-stack.conf for each {section, key,
// value}; what names the case in the errors.
func confHas(t *testing.T, h *host.Host, what string, kvs [][3]string) {
	t.Helper()
	b, err := h.ReadFile("/etc/f-stack.conf")
	if err != nil {
		t.Fatal(err)
	}
	f, err := fstackconf.ParseBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range kvs {
		if got, _ := f.Get(kv[0], kv[1]); got != kv[2] {
			t.Errorf("%s: [%s] %s = %q, want %q", what, kv[0], kv[1], got, kv[2])
		}
	}
}
