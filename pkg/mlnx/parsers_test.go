package mlnx

import (
	"errors"
	"strings"
	"testing"
)

func TestParseMSTStatus(t *testing.T) {
	d, err := ParseMSTStatus(strings.NewReader(output(t, "mst-status.txt")))
	if err != nil {
		t.Fatal(err)
	}
	if len(d) != 1 || d[0].Path != "/dev/mst/mt4117_pciconf0" || d[0].PCI != "0000:03:00.0" || d[0].Type != "" {
		t.Errorf("mst status: %+v", d)
	}
	v, err := ParseMSTStatus(strings.NewReader(output(t, "mst-status-v.txt")))
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != 2 {
		t.Fatalf("mst status -v: %+v", v)
	}
	want := []MSTDevice{
		{Path: "/dev/mst/mt4117_pciconf0.1", PCI: "0000:03:00.1", Type: "ConnectX4LX(rev:0)", RDMA: "mlx5_1", Net: []string{"enp3s0f1"}, NUMA: 0},
		{Path: "/dev/mst/mt4117_pciconf0", PCI: "0000:03:00.0", Type: "ConnectX4LX(rev:0)", RDMA: "mlx5_0", Net: []string{"enp3s0f0"}, NUMA: 0},
	}
	for i := range want {
		g, w := v[i], want[i]
		if g.Path != w.Path || g.PCI != w.PCI || g.Type != w.Type || g.RDMA != w.RDMA || strings.Join(g.Net, ",") != strings.Join(w.Net, ",") || g.NUMA != w.NUMA {
			t.Errorf("row %d: %+v, want %+v", i, g, w)
		}
	}
	// Empty RDMA and NET cells, several netdevs, a domain in the PCI cell.
	in := "DEVICE_TYPE MST PCI RDMA NET NUMA\nBlueField3(rev:1)       /dev/mst/mt41692_pciconf0     0001:03:00.0   net-p0,net-pf0hpf       -1\nConnectX4(rev:0) /dev/mst/mt4115_pciconf0 04:00.0\n"
	v, _ = ParseMSTStatus(strings.NewReader(in))
	if len(v) != 2 || v[0].PCI != "0001:03:00.0" || v[0].RDMA != "" || strings.Join(v[0].Net, ",") != "p0,pf0hpf" || v[0].NUMA != -1 || v[1].PCI != "0000:04:00.0" {
		t.Errorf("sparse rows: %+v", v)
	}
}

func TestParseIbdev2netdev(t *testing.T) {
	l, err := ParseIbdev2netdev(strings.NewReader(output(t, "ibdev2netdev.txt")))
	if err != nil {
		t.Fatal(err)
	}
	if len(l) != 2 || l[0] != (IBLink{IBDev: "mlx5_0", Port: 1, Netdev: "enp3s0f0", State: "Up"}) || l[1].State != "Down" || l[1].Netdev != "enp3s0f1" {
		t.Errorf("%+v", l)
	}
	v, _ := ParseIbdev2netdev(strings.NewReader(output(t, "ibdev2netdev-v.txt")))
	if len(v) != 2 || v[0].PCI != "0000:03:00.0" || v[0].IBDev != "mlx5_0" || v[0].Port != 1 || v[0].Netdev != "enp3s0f0" || v[1].PCI != "0000:03:00.1" {
		t.Errorf("-v: %+v", v)
	}
	if l, _ := ParseIbdev2netdev(strings.NewReader("==>\nnothing here\n ==> x\n")); len(l) != 0 {
		t.Errorf("junk gave %+v", l)
	}
}

func TestParseOFEDInfo(t *testing.T) {
	v, err := ParseOFEDInfo([]byte(output(t, "ofed-info-s.txt")))
	if err != nil || v.Name != "MLNX_OFED_LINUX" || v.Version != "5.4-3.6.8.1" || v.String() != "MLNX_OFED_LINUX-5.4-3.6.8.1" {
		t.Errorf("%+v %v", v, err)
	}
	if v, _ := ParseOFEDInfo([]byte("OFED-internal-24.07-0.6.1:\n")); v.Name != "OFED-internal" || v.Version != "24.07-0.6.1" {
		t.Errorf("DOCA: %+v", v)
	}
	if _, err := ParseOFEDInfo([]byte("bash: ofed_info: command not found")); !errors.Is(err, ErrNoOFEDVersion) {
		t.Errorf("junk: %v", err)
	}
	if got := OFEDDirVersion("/root/MLNX_OFED_LINUX-5.4-3.6.8.1-rhel7.2-x86_64/"); got != "5.4-3.6.8.1" {
		t.Errorf("dir version %q", got)
	}
	if got := OFEDDirVersion("/opt/ofed"); got != "" {
		t.Errorf("dir version %q", got)
	}
}

func TestGCC(t *testing.T) {
	for in, want := range map[string]string{
		"gcc (GCC) 4.8.5 20150623 (Red Hat 4.8.5-44)\nCopyright (C) 2015 Free Software Foundation, Inc.\n": "4.8.5",
		"gcc (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0\n":                                                      "11.4.0",
		"gcc (Debian 12.2.0-14) 12.2.0\n":                                                                  "12.2.0",
	} {
		if got, err := ParseGCCVersion([]byte(in)); err != nil || got != want {
			t.Errorf("%q: %q %v", in, got, err)
		}
	}
	for in, want := range map[string]string{
		"Linux version 3.10.0-1160.el7.x86_64 (mockbuild@kbuilder.bsys.centos.org) (gcc version 4.8.5 20150623 (Red Hat 4.8.5-44) (GCC) ) #1 SMP Mon Oct 19 16:18:59 UTC 2020\n": "4.8.5",
		"Linux version 5.15.0-91-generic (buildd@lcy02-amd64-045) (gcc (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0, GNU ld (GNU Binutils for Ubuntu) 2.38) #101-Ubuntu SMP\n":          "11.4.0",
	} {
		if got, err := ParseKernelGCC([]byte(in)); err != nil || got != want {
			t.Errorf("%q: %q %v", in, got, err)
		}
	}
	if _, err := ParseKernelGCC([]byte("Linux version 6.6.0 (x@y) (ClangBuiltLinux clang version 17.0.6, LLD 17.0.6) #1\n")); !errors.Is(err, ErrNoGCCVersion) {
		t.Errorf("clang kernel: %v", err)
	}
	if !SameGCC("4.8.5", "4.8.5") || SameGCC("4.8.5", "11.4.0") || SameGCC("11.4.0", "11.3.0") || !SameGCC("11.4", "11.4.0") || SameGCC("11", "11") {
		t.Error("SameGCC")
	}
}

func TestPackages(t *testing.T) {
	rpm := "rdma-core\t22.4-6.el7_9\nlibrdmacm\t22.4-6.el7_9\nbash\t4.2.46-35.el7_9\nlibibverbs\t54mlnx1-1.54103\n"
	got := DistroRDMA(ParsePackages([]byte(rpm)))
	if len(got) != 2 || got[0].Name != "rdma-core" || got[1].Name != "librdmacm" {
		t.Errorf("rpm: %+v", got)
	}
	deb := "ibverbs-providers:amd64\t39.0-1\nrdma-core\t2304mlnx44-1.2304053\nlibc6:amd64\t2.35-0ubuntu3\n"
	got = DistroRDMA(ParsePackages([]byte(deb)))
	if len(got) != 1 || got[0].Name != "ibverbs-providers" || got[0].Version != "39.0-1" {
		t.Errorf("deb: %+v", got)
	}
}

func TestParseLockdown(t *testing.T) {
	for in, want := range map[string]string{"[none] integrity confidentiality": "none", "none [integrity] confidentiality": "integrity", "none integrity [confidentiality]\n": "confidentiality", "": ""} {
		if got := ParseLockdown(in); got != want {
			t.Errorf("%q: %q", in, got)
		}
	}
}

func FuzzParseMSTStatus(f *testing.F) {
	f.Add(output(f, "mst-status.txt"))
	f.Add(output(f, "mst-status-v.txt"))
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseMSTStatus(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, x := range d {
			if !strings.HasPrefix(x.Path, "/dev/mst/") {
				t.Fatalf("path %q", x.Path)
			}
			if x.PCI != "" && !pciTokRe.MatchString(x.PCI) {
				t.Fatalf("pci %q", x.PCI)
			}
		}
	})
}

func FuzzParseIbdev2netdev(f *testing.F) {
	f.Add(output(f, "ibdev2netdev.txt"))
	f.Add(output(f, "ibdev2netdev-v.txt"))
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseIbdev2netdev(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, x := range l {
			if x.IBDev == "" || x.Netdev == "" {
				t.Fatalf("empty field: %+v", x)
			}
		}
	})
}

func FuzzParseOFEDInfo(f *testing.F) {
	f.Add([]byte(output(f, "ofed-info-s.txt")))
	f.Add([]byte("OFED-internal-24.07-0.6.1:"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ParseOFEDInfo(b)
		if err == nil && (v.Name == "" || v.Version == "") {
			t.Fatalf("empty version %+v", v)
		}
	})
}

func FuzzParseGCC(f *testing.F) {
	f.Add([]byte("gcc (GCC) 4.8.5 20150623 (Red Hat 4.8.5-44)"))
	f.Add([]byte("Linux version 5.15.0-91-generic (b@l) (gcc (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0, GNU ld 2.38) #101"))
	f.Add([]byte("(gcc ((((("))
	f.Fuzz(func(t *testing.T, b []byte) {
		if v, err := ParseGCCVersion(b); err == nil && !verRe.MatchString(v) {
			t.Fatalf("gcc %q", v)
		}
		if v, err := ParseKernelGCC(b); err == nil && !verRe.MatchString(v) {
			t.Fatalf("kernel gcc %q", v)
		}
	})
}

func FuzzParsePackages(f *testing.F) {
	f.Add([]byte("rdma-core\t22.4-6.el7_9\nlibc6:amd64\t2.35\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, p := range ParsePackages(b) {
			if p.Name == "" {
				t.Fatal("empty name")
			}
		}
	})
}

func FuzzParseLockdown(f *testing.F) {
	f.Add("[none] integrity confidentiality")
	f.Fuzz(func(t *testing.T, s string) {
		if m := ParseLockdown(s); strings.ContainsAny(m, "[] \t\n") {
			t.Fatalf("mode %q", m)
		}
	})
}
