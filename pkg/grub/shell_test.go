package grub

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/fixture"
)

func TestParseKinds(t *testing.T) {
	in := `# comment
export GRUB_A="x y" # trailing
GRUB_B='single $NOT'
GRUB_C=plain\ escaped
GRUB_D="multi \
line"

if [ -n "$X" ]; then
  GRUB_E=inside
fi
GRUB_F=$(echo hi) GRUB_G=1
export GRUB_A
`
	f, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(f.Render()); got != in {
		t.Fatalf("render differs:\n%s", got)
	}
	type want struct {
		kind  Kind
		name  string
		line  int
		depth int
	}
	wants := []want{
		{KindComment, "", 1, 0}, {KindAssign, "GRUB_A", 2, 0}, {KindAssign, "GRUB_B", 3, 0},
		{KindAssign, "GRUB_C", 4, 0}, {KindAssign, "GRUB_D", 5, 0}, {KindBlank, "", 7, 0},
		{KindOther, "", 8, 0}, {KindAssign, "GRUB_E", 9, 1}, {KindOther, "", 10, 1},
		{KindOther, "", 11, 0}, {KindOther, "", 12, 0},
	}
	if len(f.Stmts) != len(wants) {
		t.Fatalf("got %d statements, want %d", len(f.Stmts), len(wants))
	}
	for i, w := range wants {
		s := f.Stmts[i]
		if s.Kind != w.kind || s.Name != w.name || s.Line != w.line || s.Depth != w.depth {
			t.Errorf("stmt %d %q: kind %d name %q line %d depth %d, want %+v", i, s.Raw, s.Kind, s.Name, s.Line, s.Depth, w)
		}
	}
	if !f.Stmts[1].Export || !f.Stmts[10].ExportOnly {
		t.Error("export not seen")
	}
	v := f.Vars()
	for k, want := range map[string]string{"GRUB_A": "x y", "GRUB_B": "single $NOT", "GRUB_C": "plain escaped", "GRUB_D": "multi line"} {
		if v[k] != want {
			t.Errorf("%s = %q, want %q", k, v[k], want)
		}
	}
}

func TestParseSyntaxErrors(t *testing.T) {
	for _, tc := range []struct {
		in, msg string
		line    int
	}{
		{"A=1\nGRUB_CMDLINE_LINUX=\"quiet\n", `unterminated " quote`, 2},
		{"A='x\n\n", "unterminated ' quote", 1},
		{"A=1\nB=2\nC=$(echo\n", "unterminated $(...)", 3},
		{"X=`date\n", "unterminated `...`", 1},
		{"X=${A\n", "unterminated ${...}", 1},
	} {
		_, err := Parse([]byte(tc.in))
		var se *SyntaxError
		if !errors.As(err, &se) || se.Line != tc.line || !strings.Contains(se.Msg, tc.msg) {
			t.Errorf("Parse(%q) = %v, want line %d %q", tc.in, err, tc.line, tc.msg)
		}
		// Through EditArgs it is bad input naming the file and line.
		_, err = EditArgs([]Source{{"/etc/default/grub", []byte(tc.in)}}, CmdlineVar, []string{"iommu=pt"}, nil)
		if !errors.Is(err, ErrSyntax) || !engine.IsBadInput(err) || !strings.HasPrefix(err.Error(), "/etc/default/grub:") {
			t.Errorf("EditArgs(%q) = %v, want a bad-input syntax error with the line", tc.in, err)
		}
	}
}

// Every fixture's shell files parse and render back byte for byte.
func TestParseFixturesIdentity(t *testing.T) {
	m, _ := filepath.Glob(filepath.Join(fixture.ModuleRoot(t), "testdata/hosts/grub-*.txtar"))
	if len(m) < 6 {
		t.Fatalf("found %d grub fixtures", len(m))
	}
	for _, p := range m {
		name := strings.TrimSuffix(filepath.Base(p), ".txtar")
		h := fixture.Host(t, name)
		files, _ := h.Glob("/etc/default/grub*")
		drops, _ := h.Glob(DropinGlob)
		for _, f := range append(append(files, drops...), OSRelease) {
			if st, err := os.Stat(h.Path(f)); err != nil || st.IsDir() {
				continue
			}
			b, _ := h.ReadFile(f)
			pf, err := Parse(b)
			if err != nil {
				t.Errorf("%s %s: %v", name, f, err)
				continue
			}
			if string(pf.Render()) != string(b) {
				t.Errorf("%s %s: render differs", name, f)
			}
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"GRUB_CMDLINE_LINUX=\"quiet\"\n",
		"GRUB_DISTRIBUTOR=\"$(sed 's, release .*$,,g' /etc/system-release)\"\n",
		"A=`x`\nexport B='y'\\\nC\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pf, err := Parse(b)
		if err != nil {
			return
		}
		if string(pf.Render()) != string(b) {
			t.Fatalf("render(parse(%q)) = %q", b, pf.Render())
		}
		// Editing never panics, and a successful edit reads back (EditArgs
		// checks that itself).
		e, err := EditArgs([]Source{{"/etc/default/grub", b}}, CmdlineVar, []string{"intel_iommu=on", "quiet"}, []string{"pci"})
		var ge *Error
		if err != nil && !errors.As(err, &ge) {
			t.Fatalf("edit of %q: %v", b, err)
		}
		if err == nil && len(e.Files) == 0 && strings.Join(e.Before, " ") != strings.Join(e.After, " ") {
			t.Fatalf("no file changed, but the value changes: %q -> %q", e.Before, e.After)
		}
	})
}
