package fstackconf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrSyntax matches a *SyntaxError: the input is not an f-stack.conf at all.
var ErrSyntax = errors.New("not a valid f-stack.conf")

// ErrVersion is an F-Stack version photonctl cannot use.
var ErrVersion = errors.New("unusable F-Stack version")

// Problem is one finding about one line of the file (0: the file as a whole).
type Problem struct {
	Line int    `json:"line"`
	Msg  string `json:"message"`
}

func (p Problem) String() string {
	if p.Line == 0 {
		return p.Msg
	}
	return fmt.Sprintf("line %d: %s", p.Line, p.Msg)
}

// SyntaxError lists every line the parser could not read.
type SyntaxError struct{ Problems []Problem }

func (e *SyntaxError) Error() string {
	s := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		s[i] = p.String()
	}
	return strings.Join(s, "\n")
}

func (e *SyntaxError) Is(target error) bool { return target == ErrSyntax }

// Kind is what a line holds.
type Kind int

const (
	Blank Kind = iota
	Comment
	Header // [section]
	Pair   // key=value
)

// Line is one line of the file, kept as it was read. For a Pair, the key and
// the value are spans of Raw, so that an edit replaces the value and leaves
// the spacing and any inline comment as they were.
type Line struct {
	Raw     string // the text, without the line end
	EOL     string // "\n", "\r\n" or "" (last line without one)
	Kind    Kind
	Section string // the section a Pair is in, or a Header names

	keyStart, keyEnd int
	valStart, valEnd int
}

// Key is a Pair's key.
func (l *Line) Key() string { return l.Raw[l.keyStart:l.keyEnd] }

// Value is a Pair's value, without surrounding blanks or an inline comment.
func (l *Line) Value() string { return l.Raw[l.valStart:l.valEnd] }

// File is a parsed f-stack.conf. Render gives back the input byte for byte
// until an edit changes a line.
type File struct {
	Lines []*Line
}

// Parse reads an f-stack.conf the way F-Stack's ini parser (inih) does, and
// refuses what it would silently misread: a line that is neither a comment,
// a [section] nor key=value, a duplicate section, an indented line that inih
// would glue to the key above, a value with text after it, an allow-list
// entry that is not a PCI address. Every such line is reported at once.
func Parse(r io.Reader) (*File, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading f-stack.conf: %w", err)
	}
	return ParseBytes(b)
}

// ParseBytes is Parse over a byte slice.
func ParseBytes(b []byte) (*File, error) {
	f := &File{}
	var probs []Problem
	bad := func(n int, format string, a ...any) {
		probs = append(probs, Problem{Line: n, Msg: fmt.Sprintf(format, a...)})
	}
	seen := map[string]int{}
	section := ""
	prevKey := false
	text := string(b)
	for n := 1; len(text) > 0; n++ {
		raw, eol := text, ""
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			raw, eol, text = text[:i], "\n", text[i+1:]
		} else {
			text = ""
		}
		if eol == "\n" && strings.HasSuffix(raw, "\r") {
			raw, eol = raw[:len(raw)-1], "\r"+eol
		}
		l := &Line{Raw: raw, EOL: eol, Section: section}
		f.Lines = append(f.Lines, l)

		body := raw
		if n == 1 {
			body = strings.TrimPrefix(body, "\ufeff")
		}
		off := len(raw) - len(body)
		trimmed := strings.TrimLeft(body, " \t")
		indent := off + len(body) - len(trimmed)
		switch {
		case strings.TrimSpace(trimmed) == "":
			l.Kind = Blank
			continue
		case trimmed[0] == ';' || trimmed[0] == '#':
			l.Kind = Comment
			continue
		case prevKey && indent > 0:
			bad(n, "indented line %q: F-Stack's parser reads it as more of the value above; remove the indentation", strings.TrimSpace(raw))
			continue
		case trimmed[0] == '[':
			l.Kind = Header
			prevKey = false
			end := strings.IndexByte(trimmed, ']')
			if end < 0 {
				bad(n, "%q: a section header needs a closing ]", strings.TrimSpace(raw))
				continue
			}
			name := trimmed[1:end]
			rest := strings.TrimSpace(trimmed[end+1:])
			if rest != "" && rest[0] != ';' && rest[0] != '#' {
				bad(n, "text %q after the section header [%s]; move it to a comment line", rest, name)
			}
			switch {
			case name == "":
				bad(n, "empty section name []")
			case strings.TrimSpace(name) != name || strings.ContainsAny(name, " \t"):
				bad(n, "section name %q has blanks: F-Stack would not recognize it; write [%s]", name, strings.Join(strings.Fields(name), ""))
			}
			if first, ok := seen[name]; ok {
				bad(n, "section [%s] again (first at line %d); merge the two into one", name, first)
			} else {
				seen[name] = n
			}
			section, l.Section = name, name
			continue
		}
		sep := strings.IndexAny(trimmed, "=:")
		if sep < 0 {
			bad(n, "%q is neither a comment, a [section] nor key=value", strings.TrimSpace(raw))
			continue
		}
		key := strings.TrimRight(trimmed[:sep], " \t")
		if key == "" {
			bad(n, "%q has no key before %q", strings.TrimSpace(raw), trimmed[sep:sep+1])
			continue
		}
		l.Kind = Pair
		prevKey = true
		l.keyStart, l.keyEnd = indent, indent+len(key)
		vs := indent + sep + 1
		for vs < len(raw) && (raw[vs] == ' ' || raw[vs] == '\t') {
			vs++
		}
		ve := len(raw)
		// inih ends a value at ";" after a blank (an inline comment).
		for i := vs; i < len(raw); i++ {
			if raw[i] == ';' && i > vs && (raw[i-1] == ' ' || raw[i-1] == '\t') {
				ve = i
				break
			}
		}
		for ve > vs && (raw[ve-1] == ' ' || raw[ve-1] == '\t' || raw[ve-1] == '\r') {
			ve--
		}
		l.valStart, l.valEnd = vs, ve
		for _, p := range valueSyntax(section, key, l.Value()) {
			bad(n, "%s", p)
		}
	}
	if len(probs) > 0 {
		return nil, &SyntaxError{Problems: probs}
	}
	return f, nil
}

// oneToken is every kind of section whose values are one word: text after
// the word is a mistake (often a "#" comment, which inih does not know after
// a value) that F-Stack would take into the value or silently drop.
var oneToken = map[string]bool{"dpdk": true, "port": true, "vlan": true, "vdev": true, "bond": true, "kni": true, "pcap": true, "rss_check": true}

func valueSyntax(section, key, value string) []string {
	kind, _, _ := kindOf(section)
	if oneToken[kind] && !(kind == "rss_check" && key == "rss_tbl") {
		if i := strings.IndexAny(value, " \t"); i >= 0 {
			return []string{fmt.Sprintf("%s=%s has trailing garbage %q: F-Stack reads one word here (comments go on a line of their own, starting with ;)", key, value, strings.TrimLeft(value[i:], " \t"))}
		}
	}
	if kind == "dpdk" && (key == "allow" || key == "pci_whitelist") {
		var out []string
		for _, a := range strings.Split(value, ",") {
			if !IsAllowListDevice(strings.TrimSpace(a)) {
				out = append(out, fmt.Sprintf("%s: %q is not a PCI address such as 0000:03:00.0 or 03:00.0, nor a DPDK virtual device such as net_tap0", key, a))
			}
		}
		return out
	}
	return nil
}

// Bytes renders the file.
func (f *File) Bytes() []byte {
	var b bytes.Buffer
	for _, l := range f.Lines {
		b.WriteString(l.Raw)
		b.WriteString(l.EOL)
	}
	return b.Bytes()
}

// LineNo is the 1-based number of l in the file, 0 if it is not there.
func (f *File) LineNo(l *Line) int {
	for i, x := range f.Lines {
		if x == l {
			return i + 1
		}
	}
	return 0
}

// Sections lists the section names in file order.
func (f *File) Sections() []string {
	var out []string
	for _, l := range f.Lines {
		if l.Kind == Header {
			out = append(out, l.Section)
		}
	}
	return out
}

// Lookup returns the line F-Stack takes key's value from (the last one), or nil.
func (f *File) Lookup(section, key string) *Line {
	var found *Line
	for _, l := range f.Lines {
		if l.Kind == Pair && l.Section == section && l.Key() == key {
			found = l
		}
	}
	return found
}

// Get returns key's value in section.
func (f *File) Get(section, key string) (string, bool) {
	if l := f.Lookup(section, key); l != nil {
		return l.Value(), true
	}
	return "", false
}

// Set gives key the value in section and reports whether the file changed.
// A value that means the same (see SameValue) is left as written. An
// existing line keeps its spacing and inline comment; a new key goes after
// the section's last key, a new section at the end ([dpdk] at the start).
func (f *File) Set(section, key, value string) bool {
	if l := f.Lookup(section, key); l != nil {
		if SameValue(section, key, l.Value(), value) {
			return false
		}
		l.Raw = l.Raw[:l.valStart] + value + l.Raw[l.valEnd:]
		l.valEnd = l.valStart + len(value)
		return true
	}
	nl := newPair(section, key, value, f.eol())
	hdr, last := -1, -1
	for i, l := range f.Lines {
		if l.Kind == Header && l.Section == section {
			hdr, last = i, i
		}
		if hdr >= 0 && l.Kind == Pair && l.Section == section {
			last = i
		}
	}
	if hdr >= 0 {
		f.insert(last+1, nl)
		return true
	}
	h := &Line{Raw: "[" + section + "]", EOL: f.eol(), Kind: Header, Section: section}
	if section == "dpdk" {
		for i, l := range f.Lines {
			if l.Kind == Header {
				f.insert(i, h, nl, &Line{EOL: f.eol()})
				return true
			}
		}
	}
	if n := len(f.Lines); n > 0 {
		if f.Lines[n-1].EOL == "" {
			f.Lines[n-1].EOL = f.eol()
		}
		if f.Lines[n-1].Kind != Blank {
			f.Lines = append(f.Lines, &Line{EOL: f.eol()})
		}
	}
	f.Lines = append(f.Lines, h, nl)
	return true
}

// Rename changes key's name in section, keeping its value and place; it
// reports whether the file changed.
func (f *File) Rename(section, key, to string) bool {
	l := f.Lookup(section, key)
	if l == nil || key == to {
		return false
	}
	d := len(to) - len(key)
	l.Raw = l.Raw[:l.keyStart] + to + l.Raw[l.keyEnd:]
	l.keyEnd += d
	l.valStart += d
	l.valEnd += d
	return true
}

// Delete removes every line setting key in section.
func (f *File) Delete(section, key string) bool {
	out := f.Lines[:0]
	changed := false
	for _, l := range f.Lines {
		if l.Kind == Pair && l.Section == section && l.Key() == key {
			changed = true
			continue
		}
		out = append(out, l)
	}
	f.Lines = out
	return changed
}

// shift moves a Pair's spans by d bytes, after text before the key changed.
func (l *Line) shift(d int) {
	l.keyStart += d
	l.keyEnd += d
	l.valStart += d
	l.valEnd += d
}

func newPair(section, key, value, eol string) *Line {
	raw := key + "=" + value
	return &Line{Raw: raw, EOL: eol, Kind: Pair, Section: section,
		keyStart: 0, keyEnd: len(key), valStart: len(key) + 1, valEnd: len(raw)}
}

func (f *File) insert(i int, ls ...*Line) {
	if i > 0 && f.Lines[i-1].EOL == "" {
		f.Lines[i-1].EOL = f.eol()
	}
	if i == 0 && len(f.Lines) > 0 && len(ls) > 0 && strings.HasPrefix(f.Lines[0].Raw, "\ufeff") {
		// The byte order mark stays the first thing in the file.
		old := f.Lines[0]
		old.Raw = strings.TrimPrefix(old.Raw, "\ufeff")
		if old.Kind == Pair {
			old.shift(-len("\ufeff"))
		}
		ls[0].Raw = "\ufeff" + ls[0].Raw
		if ls[0].Kind == Pair {
			ls[0].shift(len("\ufeff"))
		}
	}
	f.Lines = append(f.Lines[:i], append(ls, f.Lines[i:]...)...)
	f.dedentAfter(i + len(ls))
}

// dedentAfter takes the indentation off the first header or key at or after
// line i (past blanks and comments) when a key now comes before it: inih
// reads an indented line after a key as more of that key's value, so an
// indented header ("  [port0]") that followed another header would otherwise
// vanish into the key inserted above it.
func (f *File) dedentAfter(i int) {
	keyAbove := false
	for j := i - 1; j >= 0; j-- {
		if k := f.Lines[j].Kind; k == Pair || k == Header {
			keyAbove = k == Pair
			break
		}
	}
	if !keyAbove {
		return
	}
	for ; i < len(f.Lines); i++ {
		l := f.Lines[i]
		if l.Kind == Blank || l.Kind == Comment {
			continue
		}
		trimmed := strings.TrimLeft(l.Raw, " \t")
		d := len(l.Raw) - len(trimmed)
		if d > 0 {
			l.Raw = trimmed
			if l.Kind == Pair {
				l.shift(-d)
			}
		}
		return
	}
}

// eol is the file's line end: that of its first line, else "\n".
func (f *File) eol() string {
	for _, l := range f.Lines {
		if l.EOL != "" {
			return l.EOL
		}
	}
	return "\n"
}
