package netconf

import (
	"os"
	"path/filepath"

	"errors"
	"github.com/photonctl/photonctl/pkg/host"
	"strings"
	"testing"
)

var renames = map[string]string{"eth0": "enp3s0f0", "eth1": "enp3s0f1"}

func TestRewrite(t *testing.T) {
	for _, tc := range []struct {
		name     string
		f        File
		wantPath string
		want     string
	}{
		{"ifcfg quoted and plain", File{"/etc/sysconfig/network-scripts/ifcfg-eth0", Ifcfg,
			[]byte("# eth0 is the uplink\nDEVICE=\"eth0\"\nNAME='eth0'\nHWADDR=00:02:c9:fa:c3:50\nMASTER=bond0\nDEVICE_ALIAS=eth0x\n")},
			"/etc/sysconfig/network-scripts/ifcfg-enp3s0f0",
			"# eth0 is the uplink\nDEVICE=\"enp3s0f0\"\nNAME='enp3s0f0'\nHWADDR=00:02:c9:fa:c3:50\nMASTER=bond0\nDEVICE_ALIAS=eth0x\n"},
		{"ifcfg label is not a name", File{"/etc/sysconfig/network-scripts/ifcfg-uplink", Ifcfg,
			[]byte("DEVICE=eth1 # data\nNAME=\"System eth1\"\n")},
			"/etc/sysconfig/network-scripts/ifcfg-uplink",
			"DEVICE=enp3s0f1 # data\nNAME=\"System eth1\"\n"},
		{"ifcfg vlan", File{"/etc/sysconfig/network-scripts/ifcfg-eth0.100", Ifcfg,
			[]byte("DEVICE=eth0.100\nVLAN=yes\nPHYSDEV=eth0\n")},
			"/etc/sysconfig/network-scripts/ifcfg-enp3s0f0.100",
			"DEVICE=enp3s0f0.100\nVLAN=yes\nPHYSDEV=enp3s0f0\n"},
		{"route file", File{"/etc/sysconfig/network-scripts/route6-eth1", IfcfgRoute,
			[]byte("default via fe80::1 dev eth1\n# dev eth1 stays in a comment\n2001:db8::/64 dev eth10\n")},
			"/etc/sysconfig/network-scripts/route6-enp3s0f1",
			"default via fe80::1 dev enp3s0f1\n# dev eth1 stays in a comment\n2001:db8::/64 dev eth10\n"},
		{"keyfile", File{"/etc/NetworkManager/system-connections/a.nmconnection", Keyfile,
			[]byte("[connection]\nid=eth0\ninterface-name = eth0\n\n[vlan]\nparent=eth1\nid=5\n[ethernet]\ninterface-name=eth0\n")},
			"/etc/NetworkManager/system-connections/a.nmconnection",
			"[connection]\nid=eth0\ninterface-name = enp3s0f0\n\n[vlan]\nparent=enp3s0f1\nid=5\n[ethernet]\ninterface-name=eth0\n"},
		{"interfaces", File{"/etc/network/interfaces", Interfaces,
			[]byte("auto lo eth0 eth1 # both\niface eth0 inet dhcp\n  bond-slaves eth1 eth10\n# iface eth0 inet static\nallow-ovs eth1\n")},
			"/etc/network/interfaces",
			"auto lo enp3s0f0 enp3s0f1 # both\niface enp3s0f0 inet dhcp\n  bond-slaves enp3s0f1 eth10\n# iface eth0 inet static\nallow-ovs enp3s0f1\n"},
		{"netplan flow and quotes", File{"/etc/netplan/01.yaml", Netplan,
			[]byte("network:\n  ethernets: {eth0: {dhcp4: true}, \"eth1\": {}}\n  bonds:\n    bond0:\n      interfaces: [eth0, \"eth1\"] # ports\n")},
			"/etc/netplan/01.yaml",
			"network:\n  ethernets: {enp3s0f0: {dhcp4: true}, \"enp3s0f1\": {}}\n  bonds:\n    bond0:\n      interfaces: [enp3s0f0, \"enp3s0f1\"] # ports\n"},
		{"netplan id with match is not a name", File{"/etc/netplan/02.yaml", Netplan,
			[]byte("network:\n  ethernets:\n    eth0:\n      match: {macaddress: 00:11:22:33:44:55}\n  bridges:\n    br0: {interfaces: [eth0]}\n")},
			"/etc/netplan/02.yaml",
			"network:\n  ethernets:\n    eth0:\n      match: {macaddress: 00:11:22:33:44:55}\n  bridges:\n    br0: {interfaces: [eth0]}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Rewrite(tc.f, renames)
			if err != nil {
				t.Fatal(err)
			}
			if e.Path != tc.wantPath || string(e.Data) != tc.want {
				t.Errorf("got %s:\n%s\nwant %s:\n%s", e.Path, e.Data, tc.wantPath, tc.want)
			}
			// Nothing to rename: the input back byte for byte.
			n, err := Rewrite(tc.f, map[string]string{"eth9": "x"})
			if err != nil || n.Path != tc.f.Path || string(n.Data) != string(tc.f.Data) || len(n.Lines) != 0 {
				t.Errorf("no-op rewrite changed the file: %v %s %q", err, n.Path, n.Data)
			}
		})
	}
}

func TestNetplanGlobRefused(t *testing.T) {
	f := File{"/etc/netplan/01.yaml", Netplan, []byte("network:\n  ethernets:\n    all:\n      match: {name: \"eth*\"}\n      dhcp4: true\n")}
	_, err := Rewrite(f, renames)
	if !errors.Is(err, ErrCannotRewrite) || !strings.Contains(err.Error(), `pattern "eth*"`) || !strings.Contains(err.Error(), "--names keep") {
		t.Fatalf("err = %v, want ErrCannotRewrite naming the pattern", err)
	}
	if _, err := Rewrite(File{"/etc/netplan/x.yaml", Netplan, []byte("network: [\n")}, renames); err == nil || !strings.Contains(err.Error(), "/etc/netplan/x.yaml: not valid YAML") {
		t.Errorf("bad YAML: %v", err)
	}
}

func TestRefs(t *testing.T) {
	for _, tc := range []struct {
		f    File
		want string
	}{
		{File{"/etc/sysconfig/network-scripts/ifcfg-eth0", Ifcfg, []byte("HWADDR=00:02:C9:FA:C3:50\n")}, "eth0/00:02:c9:fa:c3:50"},
		{File{"/x/route-eth1", IfcfgRoute, nil}, "eth1/"},
		{File{"/x/a.nmconnection", Keyfile, []byte("[connection]\ninterface-name=eth0\n[ethernet]\nmac-address=AA:BB:CC:DD:EE:FF\n")}, "eth0/aa:bb:cc:dd:ee:ff"},
		{File{"/etc/network/interfaces", Interfaces, []byte("auto eth0\niface eth0 inet dhcp\niface br0 inet manual\n bridge_ports eth1\n")}, "eth0/ br0/ eth1/"},
		{File{"/etc/netplan/a.yaml", Netplan, []byte("network:\n  ethernets:\n    eth0: {}\n    d: {match: {macaddress: \"AA:00:00:00:00:01\"}, set-name: data0}\n  vlans:\n    v5: {link: eth0, id: 5}\n")}, "eth0/ data0/aa:00:00:00:00:01 v5/"},
	} {
		refs, err := Refs(tc.f)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range refs {
			got = append(got, r.Name+"/"+r.MAC)
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%s: refs %v, want %s", tc.f.Path, got, tc.want)
		}
	}
}

func fuzzFormat(f *testing.F, format Format, path string, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		file := File{Path: path, Format: format, Data: b}
		if _, err := Refs(file); err != nil && format != Netplan {
			t.Fatalf("Refs: %v", err)
		}
		e, err := Rewrite(file, map[string]string{"eth9": "enp9s0"})
		if err != nil {
			return
		}
		if !strings.Contains(string(b), "eth9") && (string(e.Data) != string(b) || e.Path != path) {
			t.Fatalf("rewrite without eth9 changed %q to %q", b, e.Data)
		}
		if _, err := Rewrite(file, renames); err != nil && !errors.Is(err, ErrCannotRewrite) {
			t.Fatalf("rewrite: %v", err)
		}
	})
}

func FuzzIfcfg(f *testing.F) {
	fuzzFormat(f, Ifcfg, "/etc/sysconfig/network-scripts/ifcfg-eth0", "DEVICE=eth0\nNAME=\"eth0\"\n")
}

func FuzzKeyfile(f *testing.F) {
	fuzzFormat(f, Keyfile, "/etc/NetworkManager/system-connections/a.nmconnection", "[connection]\ninterface-name=eth0\n")
}

func FuzzNetplan(f *testing.F) {
	fuzzFormat(f, Netplan, "/etc/netplan/01.yaml", "network:\n  ethernets:\n    eth0: {}\n")
}

func FuzzInterfaces(f *testing.F) {
	fuzzFormat(f, Interfaces, "/etc/network/interfaces", "auto eth0\niface eth0 inet dhcp\n")
}

func BenchmarkRewriteNetplan(b *testing.B) {
	f := File{"/etc/netplan/01.yaml", Netplan, []byte("network:\n  ethernets:\n    eth0: {dhcp4: true}\n  bonds:\n    bond0: {interfaces: [eth0, eth1]}\n")}
	for i := 0; i < b.N; i++ {
		if _, err := Rewrite(f, renames); err != nil {
			b.Fatal(err)
		}
	}
}

func TestFind(t *testing.T) {
	dir := t.TempDir()
	h, err := host.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	for p, data := range map[string]string{
		"/etc/sysconfig/network-scripts/ifcfg-eth0":             "DEVICE=eth0\n",
		"/etc/sysconfig/network-scripts/ifcfg-eth0.bak":         "DEVICE=eth0\n",
		"/etc/sysconfig/network-scripts/route-eth0":             "default via 10.0.0.1 dev eth0\n",
		"/etc/NetworkManager/system-connections/a.nmconnection": "[connection]\n",
		"/etc/netplan/01.yaml":                                  "network: {}\n",
		"/etc/network/interfaces":                               "auto lo\n",
	} {
		full := h.Path(p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(h.Path("/etc/network/interfaces.d/sub"), 0o755)
	files, err := Find(h)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, f.Path+":"+string(f.Format))
	}
	want := "/etc/NetworkManager/system-connections/a.nmconnection:keyfile /etc/netplan/01.yaml:netplan /etc/network/interfaces:interfaces " +
		"/etc/sysconfig/network-scripts/ifcfg-eth0:ifcfg /etc/sysconfig/network-scripts/route-eth0:ifcfg-route"
	if strings.Join(got, " ") != want {
		t.Errorf("Find = %v\nwant %s", got, want)
	}
}
