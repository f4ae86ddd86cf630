package fstackconf

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"gopkg.in/ini.v1"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustParse(t testing.TB, b []byte) *File {
	t.Helper()
	f, err := ParseBytes(b)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return f
}

func TestNoOpRoundTrip(t *testing.T) {
	for _, in := range []string{
		string(readTestdata(t, "full-1.24.conf")),
		"[dpdk]\r\nlcore_mask=2\r\n\r\n; x\r\n",
		"\ufeff[dpdk]\nlcore_mask=2", // BOM, no final line end
		"",
		"\n\n",
	} {
		f := mustParse(t, []byte(in))
		if got := string(f.Bytes()); got != in {
			t.Errorf("round trip changed the input:\n%q\n%q", in, got)
		}
	}
}

// diffLines returns the line numbers (1-based) where a and b differ; they
// must have the same number of lines.
func diffLines(t *testing.T, a, b []byte) []int {
	t.Helper()
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	if len(al) != len(bl) {
		t.Fatalf("line count changed: %d -> %d", len(al), len(bl))
	}
	var out []int
	for i := range al {
		if al[i] != bl[i] {
			out = append(out, i+1)
		}
	}
	return out
}

func TestOneKeyChangesOneLine(t *testing.T) {
	in := readTestdata(t, "full-1.24.conf")
	cases := []struct {
		section, key, value string
		wantLine            string
	}{
		{"dpdk", "pkt_tx_delay", "0", "pkt_tx_delay=0  ; batching window in microseconds"},
		{"port0", "addr", "192.168.1.9", "addr = 192.168.1.9"},
		{"freebsd.sysctl", "net.inet.tcp.delayed_ack", "0", "net.inet.tcp.delayed_ack=0"},
		{"freebsd.boot", "hz", "1000", "hz=1000"},
	}
	for _, c := range cases {
		f := mustParse(t, in)
		if !f.Set(c.section, c.key, c.value) {
			t.Fatalf("Set(%s, %s) reported no change", c.section, c.key)
		}
		out := f.Bytes()
		d := diffLines(t, in, out)
		if len(d) != 1 {
			t.Fatalf("Set(%s, %s): lines %v differ, want one", c.section, c.key, d)
		}
		if got := strings.Split(string(out), "\n")[d[0]-1]; got != c.wantLine {
			t.Errorf("Set(%s, %s): line %d is %q, want %q", c.section, c.key, d[0], got, c.wantLine)
		}
		if f.Set(c.section, c.key, c.value) {
			t.Errorf("Set(%s, %s) twice reported a change", c.section, c.key)
		}
	}
}

func TestSetInsertsAndRenames(t *testing.T) {
	in := "# top\n[dpdk]\nlcore_mask=2\n\n[port0]\naddr=10.0.0.2\n"
	f := mustParse(t, []byte(in))
	f.Set("dpdk", "pkt_tx_delay", "0")
	f.Set("freebsd.sysctl", "net.inet.tcp.delayed_ack", "0")
	want := "# top\n[dpdk]\nlcore_mask=2\npkt_tx_delay=0\n\n[port0]\naddr=10.0.0.2\n\n[freebsd.sysctl]\nnet.inet.tcp.delayed_ack=0\n"
	if got := string(f.Bytes()); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	g := mustParse(t, []byte("[dpdk]\npci_whitelist = 03:00.0 ; PF\n"))
	g.Rename("dpdk", "pci_whitelist", "allow")
	g.Set("dpdk", "allow", "03:00.0,03:00.2")
	if got := string(g.Bytes()); got != "[dpdk]\nallow = 03:00.0,03:00.2 ; PF\n" {
		t.Errorf("rename: got %q", got)
	}
	h := mustParse(t, []byte("[port0]\naddr=1.2.3.4"))
	h.Set("dpdk", "port_list", "0")
	if got := string(h.Bytes()); got != "[dpdk]\nport_list=0\n\n[port0]\naddr=1.2.3.4" {
		t.Errorf("new [dpdk] goes first: got %q", got)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string
	}{
		{"not ini", "[dpdk]\nlcore_mask 2\n", []string{`line 2: "lcore_mask 2" is neither a comment, a [section] nor key=value`}},
		{"duplicate section", "[dpdk]\nchannel=4\n[port0]\naddr=1.1.1.1\n[dpdk]\nmemory=1\n", []string{"line 5: section [dpdk] again (first at line 1); merge the two into one"}},
		{"trailing garbage", "[dpdk]\npkt_tx_delay=0 # no batching\n", []string{`line 2: pkt_tx_delay=0 # no batching has trailing garbage "# no batching": F-Stack reads one word here (comments go on a line of their own, starting with ;)`}},
		{"bad pci", "[dpdk]\npci_whitelist=03:00.0,03:00\n", []string{`line 2: pci_whitelist: "03:00" is not a PCI address such as 0000:03:00.0 or 03:00.0, nor a DPDK virtual device such as net_tap0`}},
		{"bad pci allow", "[dpdk]\nallow=0000:3:00.0\n", []string{`line 2: allow: "0000:3:00.0" is not a PCI address such as 0000:03:00.0 or 03:00.0, nor a DPDK virtual device such as net_tap0`}},
		{"unclosed header", "[dpdk\n", []string{`line 1: "[dpdk": a section header needs a closing ]`}},
		{"header garbage", "[dpdk] x\n", []string{`line 1: text "x" after the section header [dpdk]; move it to a comment line`}},
		{"blank in name", "[ dpdk]\n", []string{`line 1: section name " dpdk" has blanks: F-Stack would not recognize it; write [dpdk]`}},
		{"continuation", "[dpdk]\nchannel=4\n  memory=512\n", []string{`line 3: indented line "memory=512": F-Stack's parser reads it as more of the value above; remove the indentation`}},
		{"no key", "[dpdk]\n=4\n", []string{`line 2: "=4" has no key before "="`}},
		{"all at once", "[dpdk]\nfoo\n[dpdk]\n", []string{
			`line 2: "foo" is neither a comment, a [section] nor key=value`,
			"line 3: section [dpdk] again (first at line 1); merge the two into one"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseBytes([]byte(c.in))
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("err = %v, want ErrSyntax", err)
			}
			if got := err.Error(); got != strings.Join(c.want, "\n") {
				t.Errorf("error\n%s\nwant\n%s", got, strings.Join(c.want, "\n"))
			}
		})
	}
}

func TestValuesAndInlineComments(t *testing.T) {
	f := mustParse(t, []byte("[dpdk]\npkt_tx_delay = 100 ; batch\nlcore_mask:2\n[rss_check]\nrss_tbl=0 1.1.1.1 2.2.2.2 80;0 1.1.1.1 2.2.2.2 443\n"))
	for _, c := range [][3]string{{"dpdk", "pkt_tx_delay", "100"}, {"dpdk", "lcore_mask", "2"}, {"rss_check", "rss_tbl", "0 1.1.1.1 2.2.2.2 80;0 1.1.1.1 2.2.2.2 443"}} {
		if got, _ := f.Get(c[0], c[1]); got != c[2] {
			t.Errorf("[%s] %s = %q, want %q", c[0], c[1], got, c[2])
		}
	}
}

// TestIniV1LosesLayout documents why editing does not go through
// gopkg.in/ini.v1: its rendering of an edited file drops blank lines inside
// a section and moves inline comments.
func TestIniV1LosesLayout(t *testing.T) {
	in := "[dpdk]\nlcore_mask=2\n\npkt_tx_delay=100 ; batch\n[freebsd.boot]\nhz=100\n"
	cfg, err := ini.LoadSources(ini.LoadOptions{KeyValueDelimiterOnWrite: "="}, []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Section("dpdk").Key("pkt_tx_delay").SetValue("0")
	var b bytes.Buffer
	if _, err := cfg.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	want := "[dpdk]\nlcore_mask=2\n\npkt_tx_delay=0 ; batch\n[freebsd.boot]\nhz=100\n"
	if b.String() == want {
		t.Fatalf("ini.v1 now keeps the layout; fstackconf could edit through it")
	}
	f := mustParse(t, []byte(in))
	f.Set("dpdk", "pkt_tx_delay", "0")
	if got := string(f.Bytes()); got != want {
		t.Errorf("fstackconf: got %q, want %q", got, want)
	}
}

// TestIniV1ReadsTheSame reads the full layout with ini.v1 as an independent
// reader: every section (dotted names flat) and value must agree.
func TestIniV1ReadsTheSame(t *testing.T) {
	in := readTestdata(t, "full-1.24.conf")
	f := mustParse(t, in)
	cfg, err := ini.LoadSources(ini.LoadOptions{SpaceBeforeInlineComment: true, IgnoreInlineComment: false}, in)
	if err != nil {
		t.Fatal(err)
	}
	var sections []string
	for _, s := range cfg.Sections() {
		if s.Name() != ini.DefaultSection {
			sections = append(sections, s.Name())
		}
	}
	if strings.Join(sections, " ") != strings.Join(f.Sections(), " ") {
		t.Errorf("sections: ini.v1 %v, fstackconf %v", sections, f.Sections())
	}
	n := 0
	for _, l := range f.Lines {
		if l.Kind != Pair {
			continue
		}
		n++
		if got := cfg.Section(l.Section).Key(l.Key()).String(); got != l.Value() {
			t.Errorf("[%s] %s: ini.v1 reads %q, fstackconf %q", l.Section, l.Key(), got, l.Value())
		}
	}
	if n < 80 {
		t.Errorf("only %d keys compared", n)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("[dpdk]\nlcore_mask=2\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := ParseBytes(b)
		if err != nil {
			return
		}
		if !bytes.Equal(file.Bytes(), b) {
			t.Fatalf("no-op render differs:\n%q\n%q", b, file.Bytes())
		}
		Check(file, Newest, CPUSet{0: true})
		file.Set("dpdk", "pkt_tx_delay", "0")
		file.Set("port0", "addr", "192.0.2.2")
		out := file.Bytes()
		g, err := ParseBytes(out)
		if err != nil {
			t.Fatalf("edited file does not parse: %v\n%q", err, out)
		}
		if v, _ := g.Get("dpdk", "pkt_tx_delay"); v != "0" {
			t.Fatalf("pkt_tx_delay = %q after Set\n%q", v, out)
		}
	})
}

func BenchmarkParseAndCheck(b *testing.B) {
	in := readTestdata(b, "full-1.24.conf")
	for b.Loop() {
		f, err := ParseBytes(in)
		if err != nil {
			b.Fatal(err)
		}
		Check(f, Version{24}, eightCPUs)
	}
}
