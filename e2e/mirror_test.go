package e2e

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const debianSources = `Types: deb
# a comment inside the stanza
URIs: http://archive.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://archive.example/debian-security
Suites: bookworm-security
Components: main
`

func TestParseDeb822(t *testing.T) {
	got := ParseDeb822(strings.NewReader(debianSources))
	want := []AptEntry{
		{URIs: []string{"http://archive.example/debian"}, Suites: []string{"bookworm", "bookworm-updates"}, Components: []string{"main"}},
		{URIs: []string{"http://archive.example/debian-security"}, Suites: []string{"bookworm-security"}, Components: []string{"main"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestParseDeb822SkipsSourceAndDisabled(t *testing.T) {
	in := "Types: deb-src\nURIs: http://a/debian\nSuites: bookworm\nComponents: main\n\n" +
		"Types: deb\nEnabled: no\nURIs: http://b/debian\nSuites: bookworm\nComponents: main\n\n" +
		"Types: deb\nURIs: http://c/debian\n  http://d/debian\nSuites: bookworm\nComponents: main contrib\n"
	got := ParseDeb822(strings.NewReader(in))
	if len(got) != 1 || !reflect.DeepEqual(got[0].URIs, []string{"http://c/debian", "http://d/debian"}) || !got[0].HasComponent("contrib") {
		t.Fatalf("got %+v, want only the enabled deb stanza with its folded URIs", got)
	}
}

func TestParseSourcesList(t *testing.T) {
	in := `# comment
deb-src http://a/debian bookworm main
deb [arch=amd64 signed-by=/k.gpg] http://b/debian bookworm main contrib # trailing
deb cdrom:[Debian]/ bookworm main
deb http://c/debian
`
	got := ParseSourcesList(strings.NewReader(in))
	want := []AptEntry{{URIs: []string{"http://b/debian"}, Suites: []string{"bookworm"}, Components: []string{"main", "contrib"}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestDebianMirror(t *testing.T) {
	root := t.TempDir()
	d := filepath.Join(root, "etc/apt/sources.list.d")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	// security first in name order: it must not be taken for bookworm
	if err := os.WriteFile(filepath.Join(d, "a-security.sources"), []byte("Types: deb\nURIs: http://sec/debian-security\nSuites: bookworm-security\nComponents: main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, "debian.sources"), []byte(debianSources), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := DebianMirror(root, "bookworm")
	if err != nil || got != "http://archive.example/debian" {
		t.Fatalf("DebianMirror = %q, %v", got, err)
	}
	if _, err := DebianMirror(root, "trixie"); err == nil || !strings.Contains(err.Error(), "E2E_MIRROR") {
		t.Fatalf("no trixie source: want an error that says what to do, got %v", err)
	}
}

func TestParseQEMUVersion(t *testing.T) {
	for in, want := range map[string][2]int{
		"QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)\nCopyright": {10, 0},
		"QEMU emulator version 7.2.19 (Debian 1:7.2+dfsg-7+deb12u18)":                    {7, 2},
	} {
		ma, mi, err := ParseQEMUVersion(in)
		if err != nil || ma != want[0] || mi != want[1] {
			t.Errorf("ParseQEMUVersion(%q) = %d.%d, %v; want %d.%d", in, ma, mi, err, want[0], want[1])
		}
	}
	for _, bad := range []string{"", "qemu 8", "QEMU emulator version ", "QEMU emulator version x.1", "QEMU emulator version 9"} {
		if _, _, err := ParseQEMUVersion(bad); err == nil {
			t.Errorf("ParseQEMUVersion(%q): want an error", bad)
		}
	}
}

func TestMachineArgs(t *testing.T) {
	c := MachineConfig{Overlay: "/o.qcow2", Console: "/c.log", IGBPort: "rp3", SSHPort: 2222, EchoPort: 8081, Memory: 2048, CPUs: 2}
	args := strings.Join(c.Args("/p"), " ")
	for _, want := range []string{
		"q35,accel=tcg,kernel-irqchip=split",
		"vendor=GenuineIntel",
		"-cpu Nehalem", // SSE4.2 for DPDK's -march=corei7
		"-device igb,bus=rp3,mac=" + IGBMAC,
		"hostfwd=tcp:127.0.0.1:2222-:22",
		"hostfwd=tcp:127.0.0.1:8081-:8080",
	} {
		if !strings.Contains(args, want) {
			t.Errorf("QEMU args lack %q:\n%s", want, args)
		}
	}
	// the IOMMU must exist before any PCI device it translates
	if strings.Index(args, "intel-iommu") > strings.Index(args, "pcie-root-port") {
		t.Errorf("intel-iommu comes after a PCI device:\n%s", args)
	}
	// forwarded ports only on loopback
	if strings.Contains(args, "hostfwd=tcp::") || strings.Contains(args, "hostfwd=tcp:0.0.0.0") {
		t.Errorf("a forwarded port is not bound to 127.0.0.1:\n%s", args)
	}
}

func TestRecipeHashChangesWithRecipe(t *testing.T) {
	d := t.TempDir()
	if err := os.WriteFile(filepath.Join(d, "build.sh"), []byte("echo a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h1, err := RecipeHash(d)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, "build.sh"), []byte("echo b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h2, _ := RecipeHash(d)
	if h1 == h2 {
		t.Fatal("the recipe hash did not change with the recipe")
	}
}

func FuzzParseDeb822(f *testing.F) {
	f.Add(debianSources)
	f.Add("Types: deb\nURIs:\n http://x\nSuites: s\nComponents: main\n")
	f.Fuzz(func(t *testing.T, s string) {
		for _, e := range ParseDeb822(strings.NewReader(s)) {
			if len(e.URIs) == 0 || len(e.Suites) == 0 || len(e.Components) == 0 {
				t.Fatalf("incomplete entry %+v", e)
			}
			for _, u := range e.URIs {
				if !isURI(u) {
					t.Fatalf("URI %q", u)
				}
			}
		}
	})
}

func FuzzParseSourcesList(f *testing.F) {
	f.Add("deb [arch=amd64] http://b/debian bookworm main contrib\n")
	f.Add("deb [ a b ] http://x s c\n")
	f.Fuzz(func(t *testing.T, s string) {
		for _, e := range ParseSourcesList(strings.NewReader(s)) {
			if len(e.URIs) != 1 || !isURI(e.URIs[0]) || len(e.Suites) != 1 || len(e.Components) == 0 {
				t.Fatalf("bad entry %+v", e)
			}
		}
	})
}

func FuzzParseQEMUVersion(f *testing.F) {
	f.Add("QEMU emulator version 10.0.2 (Debian)")
	f.Fuzz(func(t *testing.T, s string) {
		ma, mi, err := ParseQEMUVersion(s)
		if err == nil && (ma < 0 || mi < 0) && !strings.Contains(s, "-") {
			t.Fatalf("negative version %d.%d from %q", ma, mi, s)
		}
	})
}
