package dpdkenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// TestArchiveRealTools reads archives made by the real gcc and ar: one
// object calling rte_flow_isolate, one not, one with a member name too long
// for the header (GNU "//" table).
func TestArchiveRealTools(t *testing.T) {
	for _, tool := range []string{"gcc", "ar"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s to build the test archive: %v", tool, err)
		}
	}
	dir := t.TempDir()
	srcs := map[string]string{
		"ff_dpdk_if.c": `int rte_flow_isolate(unsigned short port, int set, void *err);
int ff_dpdk_init(void) { return rte_flow_isolate(0, 1, 0); }
`,
		"ff_config.c": `int ff_load_config(int argc) { return argc + 1; }
`,
		"ff_a_member_name_longer_than_sixteen.c": `extern int ff_load_config(int);
int ff_glue(void) { return ff_load_config(2); }
`,
	}
	run := func(argv ...string) {
		t.Helper()
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", argv, err, out)
		}
	}
	for name, src := range srcs {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		run("gcc", "-c", "-O2", "-fno-asynchronous-unwind-tables", name)
	}
	run("ar", "rcs", "libwith.a", "ff_dpdk_if.o", "ff_config.o", "ff_a_member_name_longer_than_sixteen.o")
	run("ar", "rcs", "libwithout.a", "ff_config.o", "ff_a_member_name_longer_than_sixteen.o")

	read := func(name string) *Archive {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		a, err := ParseArchive(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return a
	}
	with := read("libwith.a")
	var names []string
	for _, m := range with.Members {
		names = append(names, m.Name)
	}
	wantNames := []string{"ff_dpdk_if.o", "ff_config.o", "ff_a_member_name_longer_than_sixteen.o"}
	if !slices.Equal(names, wantNames) {
		t.Errorf("members = %q, want %q", names, wantNames)
	}
	// ar s writes the index of defined symbols, pointing at their member.
	idx := map[string]int64{}
	for _, e := range with.Index {
		idx[e.Name] = e.Offset
	}
	for sym, member := range map[string]int{"ff_dpdk_init": 0, "ff_load_config": 1, "ff_glue": 2} {
		if off, ok := idx[sym]; !ok || off != with.Members[member].Offset {
			t.Errorf("index entry %s = %d (present %v), want member %s at %d", sym, off, ok, wantNames[member], with.Members[member].Offset)
		}
	}
	if _, ok := idx["rte_flow_isolate"]; ok {
		t.Error("index lists rte_flow_isolate, which no member defines")
	}
	refs, err := with.References("rte_flow_isolate")
	if err != nil || !slices.Equal(refs, []string{"ff_dpdk_if.o"}) {
		t.Errorf("References(rte_flow_isolate) = %q, %v; want [ff_dpdk_if.o]", refs, err)
	}
	glue, err := MemberSymbols(with.Members[2])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(glue.Defined, "ff_glue") || !slices.Contains(glue.Undefined, "ff_load_config") || slices.Contains(glue.Defined, "ff_load_config") {
		t.Errorf("symbols of the long-named member = %+v", glue)
	}

	without := read("libwithout.a")
	refs, err = without.References("rte_flow_isolate")
	if err != nil || len(refs) != 0 {
		t.Errorf("archive without ff_dpdk_if.o: References = %q, %v; want none", refs, err)
	}
}

// TestArchiveBuilt reads the archives the fixture tests use (written by
// arArchive and elfObject), so that those are known to be what ar makes.
func TestArchiveBuilt(t *testing.T) {
	a, err := ParseArchive(fakeLibfstack(true))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Members) != 3 || a.Members[2].Name != "ff_glue_with_a_long_name.o" {
		t.Fatalf("members = %+v", a.Members)
	}
	if len(a.Index) != 4 {
		t.Errorf("index = %+v, want 4 entries", a.Index)
	}
	refs, err := a.References("rte_flow_isolate")
	if err != nil || !slices.Equal(refs, []string{"ff_dpdk_if.o"}) {
		t.Errorf("References = %q, %v", refs, err)
	}
	b, _ := ParseArchive(fakeLibfstack(false))
	if refs, _ := b.References("rte_flow_isolate"); len(refs) != 0 {
		t.Errorf("without FF_FLOW_ISOLATE: References = %q", refs)
	}
}

func TestArchiveBSDNames(t *testing.T) {
	obj := elfObject([]string{"f"}, []string{"rte_flow_isolate"})
	name := "a_bsd_long_member_name.o"
	data := append([]byte(name), obj...)
	hdr := fmt.Sprintf("%-16s%-12s%-6s%-6s%-8s%-10d`\n", fmt.Sprintf("#1/%d", len(name)), "0", "0", "0", "644", len(data))
	b := append([]byte("!<arch>\n"+hdr), data...)
	a, err := ParseArchive(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Members) != 1 || a.Members[0].Name != name {
		t.Fatalf("members = %+v", a.Members)
	}
	if refs, err := a.References("rte_flow_isolate"); err != nil || len(refs) != 1 {
		t.Errorf("References = %q, %v", refs, err)
	}
}

func TestArchiveErrors(t *testing.T) {
	good := fakeLibfstack(true)
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrNotArchive},
		{"text", []byte("INPUT(-lfstack)\n"), ErrNotArchive},
		{"thin", []byte("!<thin>\n"), ErrThinArchive},
		{"truncated member", good[:len(good)-100], ErrBadArchive},
		{"truncated header", good[:8+30], ErrBadArchive},
		{"bad size", []byte("!<arch>\nx.o/            0           0     0     644     12x4      `\n"), ErrBadArchive},
		{"bad terminator", []byte("!<arch>\nx.o/            0           0     0     644     0         ~~"), ErrBadArchive},
		{"long name outside table", []byte("!<arch>\n/99             0           0     0     644     0         `\n"), ErrBadArchive},
		{"index count too big", []byte("!<arch>\n/               0           0     0     644     4         `\n\xff\xff\xff\xff"), ErrBadArchive},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseArchive(c.data)
			if !errors.Is(err, c.want) {
				t.Errorf("ParseArchive = %v, want %v", err, c.want)
			}
		})
	}
	a, err := ParseArchive([]byte("!<arch>\n"))
	if err != nil || len(a.Members) != 0 {
		t.Errorf("empty archive: %+v, %v", a, err)
	}
	// A member that is not ELF is skipped by References, and an error for
	// MemberSymbols.
	a, err = ParseArchive(arArchive([]arFile{{Name: "notes.txt", Data: []byte("rte_flow_isolate\n")}}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if refs, err := a.References("rte_flow_isolate"); err != nil || len(refs) != 0 {
		t.Errorf("text member: References = %q, %v", refs, err)
	}
	if _, err := MemberSymbols(a.Members[0]); !errors.Is(err, ErrNotELF) {
		t.Errorf("MemberSymbols(text) = %v, want ErrNotELF", err)
	}
	// A corrupt ELF member holding the name is an error, not a panic.
	bad := elfObject(nil, []string{"rte_flow_isolate"})
	bad[0x28] = 0xff // section header offset far out
	a, _ = ParseArchive(arArchive([]arFile{{Name: "bad.o", Data: bad}}, nil))
	if _, err := a.References("rte_flow_isolate"); err == nil {
		t.Error("corrupt ELF member: want an error")
	}
}
