package spec

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestParseYAML(t *testing.T) {
	s, err := Parse(strings.NewReader("hugepages: 5120\nhugepage_size: 2M\nvfs: 4\npf: 0000:03:00.0\niommu_args: [intel_iommu=on, iommu=pt]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Hugepages != 5120 || s.VFs != 4 || s.PF != "0000:03:00.0" || len(s.IOMMUArgs) != 2 || s.FstackConf != "/etc/f-stack.conf" {
		t.Errorf("got %+v", s)
	}
}

func TestParseRejects(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"hugepage: 64\n", `line 1: unknown key "hugepage"`},
		{"hugepages: -5\n", "hugepages: -5 is not a page count"},
		{"hugepages: many\n", `line 1: key hugepages: "many" is not a whole number`},
		// Type errors name the key, also inside a list and after other keys.
		{"vfs: 4\npci_realloc: maybe\n", `line 2: key pci_realloc: "maybe" is not true or false`},
		{"iommu_args:\n  - [a]\nvfs: 2\n", "key iommu_args:"},
		{"pf: eth0\nvfs: four\nhugepages: x\n", `line 2: key vfs: "four" is not a whole number; line 3: key hugepages:`},
		{"vfs: 99999\n", "vfs: 99999 is not a VF count"},
		{"hugepage_size: 4M\n", `"4M" is not a hugepage size`},
		{"names: rename\n", "give keep, scripts or none"},
		{"pf: 03:00.0 eth0\n", "neither an interface name nor a PCI address"},
		{"numa_node: x\n", "is not a NUMA node"},
		{"a: [\n", "config:"},
		{"vfs: 1\n---\nvfs: 2\n", "one YAML document"},
	} {
		_, err := Parse(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) = %v, want an ErrInvalid with %q", tc.in, err, tc.want)
		}
	}
}

func TestCopyFlag(t *testing.T) {
	file, flags := Default(), Default()
	file.Hugepages, file.VFs = 64, 2
	flags.Hugepages = 128
	if !CopyFlag(&file, &flags, "hugepages") || CopyFlag(&file, &flags, "dry-run") {
		t.Fatal("CopyFlag does not know the spec flags")
	}
	if file.Hugepages != 128 || file.VFs != 2 {
		t.Errorf("got %+v", file)
	}
}

func TestEveryFieldHasKeyAndFlag(t *testing.T) {
	for _, f := range Fields() {
		if f.Key == "" || f.Flag == "" || strings.ReplaceAll(f.Key, "_", "-") != f.Flag {
			t.Errorf("field %+v: key and flag must be the same name", f)
		}
	}
}

func TestIsPCIAddress(t *testing.T) {
	for s, want := range map[string]bool{"0000:03:00.0": true, "03:00.2": true, "0000:03:00.8": false, "3:00.0": false, "eth0": false, "0000:03:00.0x": false} {
		if IsPCIAddress(s) != want {
			t.Errorf("IsPCIAddress(%q) != %v", s, want)
		}
	}
}

// fstack_addr and fstack_gateway: what is wrong whatever the host is, named
// with what to give instead.
func TestFstackAddrRejects(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"fstack_addr: 10.0.3.20\n", `fstack_addr: "10.0.3.20" is not an IPv4 address with its prefix length; give one such as 10.0.3.20/24`},
		{"fstack_addr: 2001:db8::2/64\n", "is not an IPv4 address with its prefix length"},
		{"fstack_addr: 10.0.3.300/24\n", "is not an IPv4 address"},
		{"fstack_addr: 10.0.3.0/24\n", "10.0.3.0/24 is the network address of 10.0.3.0/24, not a host's; give a free address inside it, such as 10.0.3.1/24"},
		{"fstack_addr: 10.0.3.255/24\n", "10.0.3.255/24 is the broadcast address of 10.0.3.0/24"},
		{"fstack_addr: 10.0.3.7/30\n", "10.0.3.7/30 is the broadcast address of 10.0.3.4/30"},
		{"fstack_addr: 10.0.3.20/32\n", "a /32 leaves no network"},
		{"fstack_addr: 10.0.3.20/24\nfstack_gateway: 10.0.4.1\n", "fstack_gateway: 10.0.4.1 is not a host address inside fstack_addr's network 10.0.3.0/24"},
		{"fstack_addr: 10.0.3.20/24\nfstack_gateway: 10.0.3.255\n", "is not a host address inside"},
		{"fstack_addr: 10.0.3.20/24\nfstack_gateway: 10.0.3.20\n", "fstack_gateway: 10.0.3.20 is fstack_addr's own address"},
		{"fstack_addr: 10.0.3.20/24\nfstack_gateway: gw\n", `fstack_gateway: "gw" is not an IPv4 address; give the router of 10.0.3.0/24`},
		{"fstack_gateway: 10.0.3.1\n", `fstack_gateway: "10.0.3.1" without fstack_addr`},
	} {
		_, err := Parse(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) = %v, want an ErrInvalid with %q", tc.in, err, tc.want)
		}
	}
	for _, ok := range []string{"fstack_addr: 10.0.3.20/24\n", "fstack_addr: 10.0.3.20/24\nfstack_gateway: 10.0.3.1\n", "fstack_addr: 172.16.4.1/30\nfstack_gateway: 172.16.4.2\n"} {
		if _, err := Parse(strings.NewReader(ok)); err != nil {
			t.Errorf("Parse(%q) = %v", ok, err)
		}
	}
}

func TestBroadcast4(t *testing.T) {
	for in, want := range map[string]string{"10.0.3.20/24": "10.0.3.255", "172.16.4.1/30": "172.16.4.3", "10.9.0.5/16": "10.9.255.255", "10.1.2.3/20": "10.1.15.255", "1.2.3.4/1": "127.255.255.255"} {
		if got := Broadcast4(netip.MustParsePrefix(in)).String(); got != want {
			t.Errorf("Broadcast4(%s) = %s, want %s", in, got, want)
		}
	}
}
