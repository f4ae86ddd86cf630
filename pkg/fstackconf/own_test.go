package fstackconf

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/photonctl/photonctl/pkg/doctor"
	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/golden"
	"github.com/photonctl/photonctl/pkg/netnstest"
)

// igbEnv is the q35 guest after --vfs 2 --bind-vfio (igb, not bifurcated:
// DPDK drives VF 0000:01:10.0 on vfio-pci) with enp1s0 at cidr in a
// throwaway namespace, a default route via gw when gw is not "".
func igbEnv(t *testing.T, cidr, gw string) (*engine.Env, *netlink.Handle, netlink.Link) {
	t.Helper()
	nl := testNS(t)
	var l netlink.Link
	if cidr == "" {
		l = addLinkBare(t, nl, "enp1s0")
	} else {
		l = addLink(t, nl, "enp1s0", cidr, gw)
	}
	env := &engine.Env{Host: fixture.Host(t, "q35-igb", "q35-igb-vfs"), NL: nl, Spec: askFstack()}
	env.Spec.FstackVersion = "1.24"
	env.Spec.PF = "enp1s0"
	return env, nl, l
}

func addLinkBare(t *testing.T, nl *netlink.Handle, name string) netlink.Link {
	t.Helper()
	return netnstest.AddLink(t, nl, name, "")
}

func mustAddr(t *testing.T, cidr string) *netlink.Addr {
	t.Helper()
	a, err := netlink.ParseAddr(cidr)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// The issue-17 host: the PF keeps its kernel address 10.0.3.15/24 (no
// default route on it), DPDK drives the VF on vfio-pci, F-Stack has
// 10.0.3.20/24 of its own with gateway 10.0.3.1.
func TestRenderOwnAddress(t *testing.T) {
	env, _, _ := igbEnv(t, "10.0.3.15/24", "")
	env.Spec.FstackAddr, env.Spec.FstackGateway = "10.0.3.20/24", "10.0.3.1"
	r, err := Render(env, "")
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "testdata/render-igb-own-1.24.golden", r.Data)
	f := mustParse(t, r.Data)
	for k, want := range map[string]string{"addr": "10.0.3.20", "netmask": "255.255.255.0", "broadcast": "10.0.3.255", "gateway": "10.0.3.1"} {
		if got, _ := f.Get("port0", k); got != want {
			t.Errorf("[port0] %s = %q, want %q", k, got, want)
		}
	}
	if got, _ := f.Get("dpdk", "pci_whitelist"); got != "0000:01:10.0" {
		t.Errorf("pci_whitelist = %q, want the VF alone", got)
	}
	if !r.Facts.Own || r.Facts.GatewayFrom != "--fstack-gateway" {
		t.Errorf("facts %+v", r.Facts)
	}
	if msg := summary(r); !strings.Contains(msg, "[port0] 10.0.3.20/24 via 10.0.3.1 (an address of its own, not enp1s0's; the gateway from --fstack-gateway)") {
		t.Errorf("summary %q", msg)
	}
	if strings.Contains(strings.Join(r.Notes, "\n"), "both answer ARP") {
		t.Errorf("notes %q warn of an ARP conflict that is not there", r.Notes)
	}
}

// Without --fstack-gateway the PF's default route's gateway is taken when
// it lies inside the prefix; the PF needs no address of its own.
func TestOwnAddressGatewayFromThePF(t *testing.T) {
	env, nl, l := igbEnv(t, "10.0.3.15/24", "10.0.3.1")
	env.Spec.FstackAddr = "10.0.3.20/24"
	r, err := Render(env, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := mustParse(t, r.Data).Get("port0", "gateway"); got != "10.0.3.1" || r.Facts.GatewayFrom != "enp1s0's default route" {
		t.Errorf("gateway %q from %q", got, r.Facts.GatewayFrom)
	}

	// A PF without any address: [port0] still comes from fstack_addr.
	if err := nl.AddrDel(l, mustAddr(t, "10.0.3.15/24")); err != nil {
		t.Fatal(err)
	}
	env.Spec.FstackGateway = "10.0.3.1"
	if r, err = Render(env, ""); err != nil {
		t.Fatalf("PF without an address: %v", err)
	}
	if got, _ := mustParse(t, r.Data).Get("port0", "addr"); got != "10.0.3.20" {
		t.Errorf("addr %q", got)
	}
}

// What only the host can tell is refused at plan time, as bad input, and
// the file stays as it was.
func TestOwnAddressRefused(t *testing.T) {
	for _, tc := range []struct {
		name, cidr, gw, addr, fsgw string
		extra                      func(t *testing.T, nl *netlink.Handle)
		want                       []string
	}{
		{name: "no gateway anywhere", cidr: "10.0.3.15/24", addr: "10.0.3.20/24",
			want: []string{"--fstack-addr 10.0.3.20/24: no IPv4 default route goes through enp1s0", "F-Stack requires a gateway in [port0]", "ff_config.c", "--fstack-gateway GW"}},
		{name: "the PF's gateway outside the prefix", cidr: "10.0.3.15/16", gw: "10.0.9.1", addr: "10.0.3.20/24",
			want: []string{"enp1s0's default route goes via 10.0.9.1, outside 10.0.3.0/24", "--fstack-gateway GW"}},
		{name: "the PF's own address", cidr: "10.0.3.15/24", addr: "10.0.3.15/24", fsgw: "10.0.3.1",
			want: []string{"--fstack-addr 10.0.3.15/24: enp1s0 already has 10.0.3.15", "and F-Stack would too", "no link of this host has"}},
		{name: "another link's address", cidr: "10.0.3.15/24", addr: "10.0.3.20/24", fsgw: "10.0.3.1",
			extra: func(t *testing.T, nl *netlink.Handle) { addLink(t, nl, "mgmt0", "10.0.3.20/32", "") },
			want:  []string{"mgmt0 already has 10.0.3.20"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, nl, _ := igbEnv(t, tc.cidr, tc.gw)
			if tc.extra != nil {
				tc.extra(t, nl)
			}
			env.Spec.FstackAddr, env.Spec.FstackGateway = tc.addr, tc.fsgw
			before := []byte("[dpdk]\nlcore_mask=2\n")
			p := env.Host.Path("/etc/f-stack.conf")
			if err := os.WriteFile(p, before, 0o644); err != nil {
				t.Fatal(err)
			}
			steps := []engine.Step{&Step{}}
			_, err := engine.Run(context.Background(), env, steps, steps, engine.Options{})
			if !engine.IsBadInput(err) {
				t.Fatalf("err = %v, want bad input", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v\nwant it to say %q", err, w)
				}
			}
			if b, _ := os.ReadFile(p); string(b) != string(before) {
				t.Errorf("the file changed:\n%s", b)
			}
		})
	}
}

// The default (no fstack_addr) stays as it was: [port0] is the PF's, and
// on a non-bifurcated VF the plan says why that conflicts.
func TestDefaultPort0NotesTheARPConflict(t *testing.T) {
	env, _, _ := igbEnv(t, "10.0.3.15/24", "10.0.3.1")
	r, err := Render(env, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := mustParse(t, r.Data).Get("port0", "addr"); got != "10.0.3.15" {
		t.Errorf("addr %q, want the PF's", got)
	}
	if n := strings.Join(r.Notes, "\n"); !strings.Contains(n, "the kernel and F-Stack would both answer ARP for 10.0.3.15") || !strings.Contains(n, "--fstack-addr") {
		t.Errorf("notes %q", n)
	}
}

func TestDoctorPort0OwnAddress(t *testing.T) {
	env, _, _ := igbEnv(t, "10.0.3.15/24", "")
	env.Spec.FstackAddr, env.Spec.FstackGateway = "10.0.3.20/24", "10.0.3.1"
	r, err := Render(env, "")
	if err != nil {
		t.Fatal(err)
	}
	withConf(t, env, string(r.Data))
	res := runCheck(t, env, CheckPort0)
	if len(res) != 1 || res[0].Status != doctor.OK || !strings.Contains(res[0].Detail, "[port0] is an address of its own, 10.0.3.20/255.255.255.0 via 10.0.3.1") {
		t.Errorf("own address: %+v", res)
	}

	// A file that still has another address fails, naming fstack_addr.
	withConf(t, env, strings.Replace(string(r.Data), "addr=10.0.3.20", "addr=10.0.3.21", 1))
	res = runCheck(t, env, CheckPort0)
	if res[0].Status != doctor.Fail || !strings.Contains(res[0].Detail, "addr=10.0.3.21, fstack_addr gives 10.0.3.20") {
		t.Errorf("other address: %+v", res)
	}

	// [port0] with the PF's own address while DPDK drives the igb VF:
	// conflicting ARP, whatever the spec says.
	env.Spec.FstackAddr, env.Spec.FstackGateway = "", ""
	withConf(t, env, "[dpdk]\npci_whitelist=0000:01:10.0\n[port0]\naddr=10.0.3.15\nnetmask=255.255.255.0\nbroadcast=10.0.3.255\ngateway=10.0.3.1\n")
	res = runCheck(t, env, CheckPort0)
	if len(res) != 1 || res[0].Status != doctor.Fail ||
		!strings.Contains(res[0].Detail, "[port0] addr=10.0.3.15 is also the kernel's address on enp1s0, and DPDK drives 0000:01:10.0, which is not bifurcated") ||
		!strings.Contains(res[0].Fix, "--fstack-addr") {
		t.Errorf("shared address on igb: %+v", res)
	}
}

// On mlx5 (bifurcated) sharing the PF's address is how it works: no
// conflict.
func TestDoctorPort0SharedOnMlx5(t *testing.T) {
	env, _ := cx4Env(t, "fstack-cx4-vfs")
	env.Spec.FstackVersion = "1.24"
	r, err := Render(env, "")
	if err != nil {
		t.Fatal(err)
	}
	withConf(t, env, string(r.Data))
	if res := runCheck(t, env, CheckPort0); res[0].Status != doctor.OK {
		t.Errorf("mlx5: %+v", res)
	}
}

// --ipv6 beside --fstack-addr does not copy the PF's IPv6 address (the
// kernel's) into [port0]: it says so instead.
func TestOwnAddressLeavesThePFsIPv6(t *testing.T) {
	env, nl, l := igbEnv(t, "10.0.3.15/24", "")
	addAddr(t, nl, l, "2001:db8:3::15/64", "2001:db8:3::1")
	env.Spec.FstackAddr, env.Spec.FstackGateway, env.Spec.IPv6 = "10.0.3.20/24", "10.0.3.1", true
	r, err := Render(env, "")
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := mustParse(t, r.Data).Get("port0", "addr6"); ok {
		t.Errorf("addr6 = %q, the PF's", v)
	}
	if n := strings.Join(r.Notes, "\n"); !strings.Contains(n, "--ipv6 with --fstack-addr: the IPv6 keys are left out") {
		t.Errorf("notes %q", n)
	}
}
