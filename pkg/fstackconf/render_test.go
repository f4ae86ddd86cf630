package fstackconf

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/golden"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/spec"
)

// cx4Env is the fixture ConnectX-4 host with ens1f0 at 192.168.1.2/24 and
// a default route via 192.168.1.1 in a throwaway namespace.
func cx4Env(t *testing.T, layers ...string) (*engine.Env, *netlink.Handle) {
	t.Helper()
	nl := testNS(t)
	addLink(t, nl, "ens1f0", "192.168.1.2/24", "192.168.1.1")
	h := fixture.Host(t, append([]string{"fstack-cx4"}, layers...)...)
	return &engine.Env{Host: h, NL: nl, Spec: askFstack()}, nl
}

func TestRenderCX4Golden(t *testing.T) {
	for _, v := range []string{"1.24", "1.25"} {
		t.Run(v, func(t *testing.T) {
			env, _ := cx4Env(t, "fstack-cx4-vfs")
			env.Spec.FstackVersion = v
			r, err := Render(env, "")
			if err != nil {
				t.Fatal(err)
			}
			if !r.Created || len(r.Problems) > 0 {
				t.Errorf("created=%v problems=%v", r.Created, r.Problems)
			}
			golden.Assert(t, "testdata/render-cx4-"+v+".golden", r.Data)
			key := map[string]string{"1.24": "pci_whitelist", "1.25": "allow"}[v]
			if got, _ := mustParse(t, r.Data).Get("dpdk", key); got != "0000:03:00.0,0000:03:00.2" {
				t.Errorf("%s = %q", key, got)
			}
		})
	}
}

func TestRenderPredictsVFAndFindsVersion(t *testing.T) {
	env, _ := cx4Env(t, "fstack-lib124")
	env.Spec.VFs = 4
	r, err := Render(env, "")
	if err != nil {
		t.Fatal(err)
	}
	if r.Version != (Version{24}) {
		t.Errorf("version %s, want 1.24 from libfstack.a", r.Version)
	}
	f := mustParse(t, r.Data)
	if got, _ := f.Get("dpdk", "pci_whitelist"); got != "0000:03:00.0,0000:03:00.2" {
		t.Errorf("pci_whitelist = %q, want the PF and the VF sriov_offset predicts", got)
	}
	if !strings.Contains(strings.Join(r.Notes, "\n"), "predicted from sriov_offset") {
		t.Errorf("notes %q lack the prediction", r.Notes)
	}
	env.Spec.VFs = -1
	r, err = Render(env, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := mustParse(t, r.Data).Get("dpdk", "pci_whitelist"); got != "0000:03:00.0" {
		t.Errorf("without VFs pci_whitelist = %q, want the PF alone", got)
	}
}

// Without anything that tells the F-Stack version, setup says it cannot
// tell (bad input, listing the versions) instead of guessing.
func TestRenderUnknownVersion(t *testing.T) {
	env, _ := cx4Env(t)
	_, err := Render(env, "")
	if !errors.Is(err, ErrUnknownVersion) || !engine.IsBadInput(err) || !strings.Contains(err.Error(), "1.21, 1.22, 1.23, 1.24, 1.25") {
		t.Errorf("err = %v; want bad input saying it cannot tell, listing the versions", err)
	}
}

// TestEditExistingFull fills the hand-written full layout: only the managed
// lines change.
func TestEditExistingFull(t *testing.T) {
	env, nl := cx4Env(t, "fstack-cx4-vfs")
	l, _ := nl.LinkByName("ens1f0")
	_ = l
	in := readTestdata(t, "full-1.24.conf")
	if err := os.WriteFile(env.Host.Path("/etc/f-stack.conf"), in, 0o644); err != nil {
		t.Fatal(err)
	}
	env.Spec.FstackVersion = "1.24"
	env.Spec.LowLatency = true
	r, err := Render(env, "")
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "testdata/edit-full-1.24.golden", r.Data)
	var keys []string
	for _, e := range r.Edits {
		keys = append(keys, e.Section+"."+e.Key)
	}
	// lcore_mask=2 (CPU 1, node 0) fits and stays; port0 is already right;
	// pci_whitelist already names the PF and VF.
	if got := strings.Join(keys, " "); got != "dpdk.pkt_tx_delay freebsd.sysctl.net.inet.tcp.delayed_ack" {
		t.Errorf("edited %s", got)
	}
	if d := diffLines(t, in, r.Data); len(d) != 2 {
		t.Errorf("lines %v changed, want two", d)
	}

	// For 1.25 the allow-list key is renamed in place.
	env.Spec.FstackVersion = "1.25"
	r, err = Render(env, "")
	if err != nil {
		t.Fatal(err)
	}
	out := strings.Split(string(r.Data), "\n")
	if out[12] != "allow=0000:03:00.0,0000:03:00.2" {
		t.Errorf("line 13 = %q", out[12])
	}
}

func TestRenderIPv6(t *testing.T) {
	env, nl := cx4Env(t, "fstack-cx4-vfs")
	l, _ := nl.LinkByName("ens1f0")
	addAddr(t, nl, l, "2001:db8:1::2/64", "2001:db8:1::1")
	env.Spec.IPv6 = true
	env.Spec.FstackVersion = "1.25"
	r, err := Render(env, "")
	if err != nil {
		t.Fatal(err)
	}
	f := mustParse(t, r.Data)
	for k, want := range map[string]string{"addr6": "2001:db8:1::2", "prefix_len": "64", "gateway6": "2001:db8:1::1"} {
		if got, _ := f.Get("port0", k); got != want {
			t.Errorf("[port0] %s = %q, want %q", k, got, want)
		}
	}
}

// TestRenderRealLinkOther takes a /30 on a link other than the default-route
// one, chosen with --pf, and a broadcast the kernel was given.
func TestRenderRealLinkPF(t *testing.T) {
	nl := testNS(t)
	addLink(t, nl, "mgmt0", "10.9.0.5/16", "10.9.0.1")
	pf := addLink(t, nl, "ens1f0", "172.16.4.1/30", "")
	if err := nl.RouteAdd(&netlink.Route{LinkIndex: pf.Attrs().Index, Gw: []byte{172, 16, 4, 2}, Table: 0, Priority: 100}); err != nil {
		t.Fatal(err)
	}
	h := fixture.Host(t, "fstack-cx4", "fstack-cx4-vfs")
	env := &engine.Env{Host: h, NL: nl, Spec: askFstack()}
	env.Spec.FstackVersion = "1.24"
	env.Spec.PF = "0000:03:00.0"
	r, err := Render(env, "")
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "testdata/render-pf30-1.24.golden", r.Data)
}

func TestRenderNoPF(t *testing.T) {
	nl := testNS(t)
	addLink(t, nl, "eth9", "10.1.0.2/24", "")
	env := &engine.Env{Host: fixture.Host(t, "fstack-cx4"), NL: nl, Spec: askFstack()}
	if _, err := Render(env, ""); !errors.Is(err, ErrNoPF) {
		t.Errorf("no default route: err = %v, want ErrNoPF", err)
	}
	env.Spec.PF = "eth9"
	if _, err := Render(env, ""); !errors.Is(err, ErrNoPF) || !strings.Contains(err.Error(), "has no PCI device") {
		t.Errorf("virtual PF: err = %v", err)
	}
	env.Spec.PF = "ens1f0"
	if _, err := Render(env, ""); !engine.IsBadInput(err) {
		t.Errorf("missing --pf link: err = %v, want bad input", err)
	}
	addLink(t, nl, "ens1f0", "10.2.0.2/24", "")
	if _, err := Render(env, ""); !errors.Is(err, ErrNoAddress) || !strings.Contains(err.Error(), "no IPv4 default route goes through ens1f0") {
		t.Errorf("no gateway: err = %v", err)
	}
}

func TestBadFileIsBadInputAndUntouched(t *testing.T) {
	env, _ := cx4Env(t)
	bad := []byte("[dpdk]\npkt_tx_delay=0 # off\n")
	p := env.Host.Path("/etc/f-stack.conf")
	os.WriteFile(p, bad, 0o644)
	st := Step{}
	_, err := st.Check(context.Background(), env)
	if !engine.IsBadInput(err) || !strings.Contains(err.Error(), "line 2: pkt_tx_delay=0 # off has trailing garbage") {
		t.Errorf("err = %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != string(bad) {
		t.Error("the file changed")
	}
}

func TestStepSetupTwice(t *testing.T) {
	env, _ := cx4Env(t, "fstack-cx4-vfs")
	env.Spec.FstackVersion = "1.25"
	st := &Step{}
	steps := []engine.Step{st}
	plan, err := engine.Run(context.Background(), env, steps, steps, engine.Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if host.IsNotExist(func() error { _, err := env.Host.ReadFile("/etc/f-stack.conf"); return err }()) == false {
		t.Fatal("dry run wrote the file")
	}
	s := plan.Steps[0]
	if s.Status != engine.StatusPlanned {
		t.Fatalf("dry run: %+v", s)
	}
	var got []string
	for _, c := range s.Changes {
		got = append(got, c.String()+": "+c.Before+" -> "+c.After)
	}
	want := []string{
		"/etc/f-stack.conf:  -> new file from photonctl's template",
		"/etc/f-stack.conf:30 [dpdk] allow:  -> allow=0000:03:00.0,0000:03:00.2",
		"/etc/f-stack.conf:10 [dpdk] lcore_mask: lcore_mask=1 -> lcore_mask=2",
		"/etc/f-stack.conf:24 [dpdk] pkt_tx_delay: pkt_tx_delay=100 -> pkt_tx_delay=0",
		"/etc/f-stack.conf:36 [port0] addr: addr=198.51.100.2 -> addr=192.168.1.2",
		"/etc/f-stack.conf:37 [port0] netmask: netmask=255.255.255.0 -> netmask=255.255.255.0",
		"/etc/f-stack.conf:38 [port0] broadcast: broadcast=198.51.100.255 -> broadcast=192.168.1.255",
		"/etc/f-stack.conf:39 [port0] gateway: gateway=198.51.100.1 -> gateway=192.168.1.1",
		"/etc/f-stack.conf:31 [dpdk] memory:  -> memory=54",
	}
	want = append(want[:5], want[6:]...) // the netmask is already right
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("plan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	rep, err := engine.Run(context.Background(), env, steps, steps, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Steps[0].Status != engine.StatusChanged {
		t.Fatalf("first run: %+v", rep.Steps[0])
	}
	b, err := env.Host.ReadFile("/etc/f-stack.conf")
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "testdata/render-cx4-1.25.golden", b)

	env.Txn = nil
	rep, err = engine.Run(context.Background(), env, steps, steps, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s := rep.Steps[0]; s.Status != engine.StatusOK || len(s.Changes) != 0 || rep.BackupID != "" {
		t.Errorf("second run: %+v, backup %q", s, rep.BackupID)
	}
}

func TestStepSkipsWithoutPF(t *testing.T) {
	nl := testNS(t)
	env := &engine.Env{Host: fixture.Host(t, "fstack-cx4"), NL: nl, Spec: askFstack()}
	p, err := (&Step{}).Check(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.Skip, "no PF for F-Stack: --pf is not given and no link carries an IPv4 default route") {
		t.Errorf("skip = %q", p.Skip)
	}
}

func TestRenderLab(t *testing.T) {
	b, err := RenderLab("1.25", nil, "10.99.0.2", "255.255.255.0", "10.99.0.255", "10.99.0.1", "2",
		map[string]string{"dpdk:no_huge": "1", "freebsd.sysctl:net.inet.tcp.delayed_ack": "0", "dpdk:vlan_filter": "1"})
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "testdata/lab-1.25.golden", b)
	if strings.Contains(string(b), "vlan_filter") || strings.Contains(string(b), "allow=") {
		t.Error("lab config has vlan_filter or an allow-list")
	}
	if _, err := RenderLab("1.24", nil, "10.99.0.2", "255.255.255.0", "10.99.0.254", "10.99.0.1", "2", nil); err == nil ||
		!strings.Contains(err.Error(), "broadcast 10.99.0.254 does not match") {
		t.Errorf("bad broadcast: err = %v", err)
	}
	if _, err := RenderLab("1.24", []string{"03:00"}, "10.99.0.2", "255.255.255.0", "10.99.0.255", "10.99.0.1", "2", nil); err == nil {
		t.Error("bad PCI address accepted")
	}
}

// askFstack is the spec of setup --fstack: the fstack step asked for.
func askFstack() spec.Spec {
	s := spec.Default()
	s.Fstack = true
	return s
}
