package udev

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseRoundTripRealRules(t *testing.T) {
	files, err := filepath.Glob("testdata/rules/*.rules")
	if err != nil || len(files) < 4 {
		t.Fatalf("rules test files: %v %v", files, err)
	}
	for _, p := range files {
		t.Run(filepath.Base(p), func(t *testing.T) {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			f, err := Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Render(); string(got) != string(b) {
				t.Errorf("round trip differs:\n--- in\n%s\n--- out\n%s", b, got)
			}
			for _, l := range f.Lines {
				if l.Rule == nil {
					continue
				}
				// Every rule renders to a canonical line that parses back
				// to the same pairs.
				g, err := Parse([]byte(l.Rule.String() + "\n"))
				if err != nil || len(g.Lines) != 1 || g.Lines[0].Rule.String() != l.Rule.String() {
					t.Errorf("line %d: %q does not parse back: %v", l.Num, l.Rule.String(), err)
				}
			}
		})
	}
}

func TestParseDetails(t *testing.T) {
	b, _ := os.ReadFile("testdata/rules/82-net-setup-link.rules")
	f, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	var rules []*Rule
	for _, l := range f.Lines {
		if l.Rule != nil {
			rules = append(rules, l.Rule)
		}
	}
	if len(rules) != 2 || len(rules[0].Pairs) != 6 || rules[0].Pairs[4].Key != "IMPORT" || rules[0].Pairs[4].Attr != "program" {
		t.Fatalf("continued rule parsed as %v", rules)
	}
	if p := rules[1].Pairs[3]; p.Op != "!=" || p.Value != "pf*vf*" {
		t.Errorf("pair = %+v", p)
	}
	if p, ok := rules[1].Get("NAME", "", false); !ok || p.Op != ":=" {
		t.Errorf("NAME:= not found: %+v", p)
	}
	b, _ = os.ReadFile("testdata/rules/70-persistent-net.rules")
	f, _ = Parse(b)
	pins := Pins(f)
	if len(pins) != 2 || pins[1] != (Pin{Name: "eth1", MAC: "00:02:c9:fa:c3:50", DevID: "0x0", Line: 11}) {
		t.Errorf("pins = %+v", pins)
	}
}

func TestParseErrors(t *testing.T) {
	for in, want := range map[string]string{
		"SUBSYSTEM==\"net\", NAME:=eth0\n":     "line 1: key NAME: the value must be in double quotes",
		"# ok\nSUBSYSTEM==\"net\" NAME\"x\"\n": "line 2: key NAME: want an operator",
		"ATTR{address==\"x\"\n":                "'{' without '}'",
		"KERNEL==\"eth*\", NAME=\"eth0\n":      "no closing double quote",
		"KERNEL==\"eth*\"NAME=\"eth0\"\n":      "want a comma after the value",
		"KERNEL==\"eth*\", \\\n":               "ends inside a continued line",
		"=\"x\"\n":                             "want a key",
		"ATTR{}==\"x\"\n":                      "empty {}",
	} {
		_, err := Parse([]byte(in))
		if !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want ErrSyntax saying %q", in, err, want)
		}
	}
}

func TestRenderNamesRefusesBadInput(t *testing.T) {
	mac := func(s string) net.HardwareAddr { m, _ := net.ParseMAC(s); return m }
	for _, tc := range []struct {
		nics []NIC
		want error
		msg  string
	}{
		{[]NIC{{Name: "a very long name", MAC: mac("00:00:00:00:00:01")}}, ErrBadName, "at most 15"},
		{[]NIC{{Name: "net/0", MAC: mac("00:00:00:00:00:01")}}, ErrBadName, "'/'"},
		{[]NIC{{Name: "net 0", MAC: mac("00:00:00:00:00:01")}}, ErrBadName, "blank"},
		{[]NIC{{Name: "a", MAC: mac("00:00:00:00:00:01")}, {Name: "b", MAC: mac("00:00:00:00:00:01")}}, ErrNotUnique, "a and b have the same MAC"},
		{[]NIC{{Name: "a", MAC: mac("00:00:00:00:00:01")}, {Name: "a", MAC: mac("00:00:00:00:00:02")}}, nil, "two rules would name a"},
	} {
		_, err := RenderNames(tc.nics)
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("RenderNames(%v) = %v, want %v saying %q", tc.nics, err, tc.want, tc.msg)
		}
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/rules/*.rules")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Parse(b)
		if err != nil {
			return
		}
		if got := r.Render(); string(got) != string(b) {
			t.Fatalf("round trip differs: %q -> %q", b, got)
		}
		for _, l := range r.Lines {
			if l.Rule != nil {
				if _, err := Parse([]byte(l.Rule.String())); err != nil {
					t.Fatalf("rendered rule %q does not parse: %v", l.Rule.String(), err)
				}
			}
		}
		Pins(r)
	})
}

func BenchmarkParse(b *testing.B) {
	data, _ := os.ReadFile("testdata/rules/70-persistent-net.rules")
	for i := 0; i < b.N; i++ {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}
