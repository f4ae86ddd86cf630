package grub

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestGrubenvRoundTrip(t *testing.T) {
	g := &Grubenv{}
	g.Set("saved_entry", "abc-4.18.0")
	g.Set("kernelopts", `root=/dev/sda1 odd\value`+"\nnext")
	b, err := g.Render()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != GrubenvSize || !bytes.HasSuffix(b, []byte("#")) {
		t.Fatalf("block is %d bytes", len(b))
	}
	g2, err := ParseGrubenv(b)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := g2.Get("kernelopts"); v != `root=/dev/sda1 odd\value`+"\nnext" {
		t.Errorf("kernelopts = %q", v)
	}
	g.Set("big", strings.Repeat("x", 2000))
	if _, err := g.Render(); err == nil {
		t.Error("an overfull block rendered")
	}
	if _, err := ParseGrubenv([]byte("kernelopts=x\n")); err == nil {
		t.Error("a block without the header parsed")
	}
}

// The real grub-editenv (Debian package grub-common) reads what we write
// and we read what it writes.
func TestGrubenvRealTool(t *testing.T) {
	tool, err := exec.LookPath("grub-editenv")
	if err != nil {
		t.Skip("needs grub-editenv: apt-get install -y grub-common")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "grubenv")
	run := func(args ...string) string {
		out, err := exec.Command(tool, append([]string{p}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("grub-editenv %v: %v: %s", args, err, out)
		}
		return string(out)
	}
	run("create")
	run("set", "saved_entry=0-rescue", `kernelopts=root=/dev/mapper/rhel-root ro rhgb quiet`)
	b, _ := os.ReadFile(p)
	g, err := ParseGrubenv(b)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := g.Get("kernelopts"); v != "root=/dev/mapper/rhel-root ro rhgb quiet" {
		t.Fatalf("we read kernelopts=%q from grub-editenv's block", v)
	}
	// Unchanged, our rendering is grub-editenv's byte for byte.
	again, err := g.Render()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, b) {
		t.Fatalf("our rendering differs from grub-editenv's:\n%q\n%q", again, b)
	}
	// Our edit, read by grub-editenv.
	old, _ := g.Get("kernelopts")
	g.Set("kernelopts", strings.Join(ApplyArgs(strings.Fields(old), []string{"intel_iommu=on", "iommu=pt"}, nil), " "))
	g.Set("odd", `a\b`)
	data, err := g.Render()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(p, data, 0o644)
	list := run("list")
	for _, want := range []string{"saved_entry=0-rescue", "kernelopts=root=/dev/mapper/rhel-root ro rhgb quiet intel_iommu=on iommu=pt", `odd=a\b`} {
		if !strings.Contains(list, want+"\n") {
			t.Errorf("grub-editenv list lacks %q:\n%s", want, list)
		}
	}
	// And grub-editenv's escaping of our backslash is ours.
	run("set", `odd=a\b`)
	b2, _ := os.ReadFile(p)
	if !bytes.Equal(b2, data) {
		t.Errorf("grub-editenv wrote a different block for the same values:\n%q\n%q", b2, data)
	}
}

func FuzzGrubenv(f *testing.F) {
	g := &Grubenv{}
	g.Set("kernelopts", "root=/dev/sda ro")
	seed, _ := g.Render()
	f.Add(seed)
	f.Add([]byte(grubenvHeader + "a=b\\\nc\n#"))
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := ParseGrubenv(b)
		if err != nil {
			return
		}
		out, err := g.Render()
		if err != nil {
			return
		}
		g2, err := ParseGrubenv(out)
		if err != nil {
			t.Fatalf("our own block does not parse: %v", err)
		}
		if len(g2.Vars) != len(g.Vars) {
			t.Fatalf("vars %v -> %v", g.Vars, g2.Vars)
		}
		for i := range g.Vars {
			if g.Vars[i] != g2.Vars[i] {
				t.Fatalf("var %v -> %v", g.Vars[i], g2.Vars[i])
			}
		}
	})
}
