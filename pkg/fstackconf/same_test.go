package fstackconf

import (
	"os"
	"strings"
	"testing"
)

// Values that mean the same are left as written: no edit, no rewritten line.
func TestSetLeavesSameValues(t *testing.T) {
	in := "[dpdk]\npci_whitelist=03:00.0,0000:03:00.2 ; PF and VF\nlcore_mask=0x2\nport_list=1,0\n\n[port0]\naddr=192.168.1.2\naddr6=2001:DB8:1::2\n"
	f := mustParse(t, []byte(in))
	for _, c := range [][3]string{
		{"dpdk", "pci_whitelist", "0000:03:00.0,0000:03:00.2"},
		{"dpdk", "lcore_mask", "2"},
		{"dpdk", "port_list", "0,1"},
		{"port0", "addr", "192.168.1.2"},
		{"port0", "addr6", "2001:db8:1::2"},
	} {
		if f.Set(c[0], c[1], c[2]) {
			t.Errorf("Set(%s, %s, %s) rewrote an equal value", c[0], c[1], c[2])
		}
	}
	if got := string(f.Bytes()); got != in {
		t.Errorf("file changed:\n%s", got)
	}
	for _, c := range [][3]string{
		{"dpdk", "pci_whitelist", "0000:03:00.0,0000:03:00.4"},
		{"dpdk", "pci_whitelist", "0000:03:00.2,0000:03:00.0"}, // order is the port order
		{"dpdk", "lcore_mask", "4"},
		{"port0", "addr", "192.168.1.3"},
	} {
		if !f.Set(c[0], c[1], c[2]) {
			t.Errorf("Set(%s, %s, %s) changed nothing", c[0], c[1], c[2])
		}
	}
}

// The setup edit leaves an allow-list written without PCI domains alone.
func TestEditLeavesShortPCIAddresses(t *testing.T) {
	env, _ := cx4Env(t, "fstack-cx4-vfs")
	in := readTestdata(t, "full-1.24.conf")
	short := strings.Replace(string(in), "0000:03:00.0,0000:03:00.2", "03:00.0,03:00.2", 1)
	if short == string(in) {
		t.Fatal("full-1.24.conf no longer holds the full allow-list this test shortens")
	}
	if err := os.WriteFile(env.Host.Path("/etc/f-stack.conf"), []byte(short), 0o644); err != nil {
		t.Fatal(err)
	}
	env.Spec.FstackVersion = "1.24"
	r, err := Render(env, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range r.Edits {
		if e.Key == "pci_whitelist" {
			t.Errorf("rewrote %q as %q", e.Before, e.After)
		}
	}
	if !strings.Contains(string(r.Data), "pci_whitelist=03:00.0,03:00.2") {
		t.Errorf("the short allow-list is gone:\n%s", r.Data)
	}
}

// A key inserted above an indented header ("  [port0]", a fuzz finding) must
// not turn the header into a continuation of the new key's value.
func TestSetBeforeIndentedHeader(t *testing.T) {
	for _, in := range []string{
		"  [port0]\naddr=192.0.2.1\n",
		"\ufeff  [port0]\naddr=192.0.2.1\n",
		"[dpdk]\n\t[port0]\naddr=192.0.2.1\n",
		"[dpdk]\n; c\n\n   [port0]\naddr=192.0.2.1\n",
		"[dpdk]\n  lcore_mask=2\n[port0]\naddr=192.0.2.1\n",
	} {
		f := mustParse(t, []byte(in))
		f.Set("dpdk", "pkt_tx_delay", "0")
		f.Set("dpdk", "idle_sleep", "0")
		out := f.Bytes()
		g, err := ParseBytes(out)
		if err != nil {
			t.Errorf("%q: the edit does not parse: %v\n%q", in, err, out)
			continue
		}
		if v, _ := g.Get("port0", "addr"); v != "192.0.2.1" {
			t.Errorf("%q: [port0] addr = %q after the edit\n%q", in, v, out)
		}
		if v, _ := g.Get("dpdk", "pkt_tx_delay"); v != "0" {
			t.Errorf("%q: pkt_tx_delay = %q\n%q", in, v, out)
		}
		if strings.Contains(string(out[1:]), "\ufeff") {
			t.Errorf("%q: the byte order mark moved into the file\n%q", in, out)
		}
	}
}
