package spec

import (
	"errors"
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
