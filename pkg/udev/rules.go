package udev

import (
	"errors"
	"fmt"
	"strings"
)

// File is a parsed udev rules file: one Line per logical line (physical
// lines joined by a trailing backslash count as one). Render gives back the
// input byte for byte.
type File struct {
	Lines []Line
	// NoFinalNewline is set when the input did not end with "\n".
	NoFinalNewline bool
}

// Line is one logical line: its text as written (with the backslash-newline
// continuations) and, for a rule, the rule.
type Line struct {
	Raw  string
	Num  int   // first physical line number, from 1
	Rule *Rule // nil for blank lines and comments
}

// Rule is one rule: its key-operator-value pairs in order.
type Rule struct {
	Pairs []Pair
}

// Pair is KEY{ATTR}OP"VALUE". Value is as written between the quotes
// (escapes are not resolved).
type Pair struct {
	Key   string
	Attr  string
	Op    string
	Value string
	// E is set for an e"..." value (C escapes resolved by udev).
	E bool
}

// ErrSyntax marks a rules file udev would reject.
var ErrSyntax = errors.New("udev rules syntax error")

// SyntaxError says where a rules file is wrong.
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Is makes errors.Is(err, ErrSyntax) hold.
func (e *SyntaxError) Is(target error) bool { return target == ErrSyntax }

// Parse reads a rules file.
func Parse(b []byte) (*File, error) {
	f := &File{}
	s := string(b)
	if s == "" {
		return f, nil
	}
	if !strings.HasSuffix(s, "\n") {
		f.NoFinalNewline = true
	} else {
		s = s[:len(s)-1]
	}
	phys := strings.Split(s, "\n")
	for i := 0; i < len(phys); i++ {
		start := i
		raw := phys[i]
		joined := phys[i]
		// udev joins a line ending in a backslash with the next one; a
		// comment line is never continued.
		for !isComment(joined) && strings.HasSuffix(strings.TrimRight(phys[i], " \t\r"), "\\") && i+1 < len(phys) {
			t := strings.TrimRight(joined, " \t\r")
			joined = t[:len(t)-1] + phys[i+1]
			i++
			raw += "\n" + phys[i]
		}
		ln := Line{Raw: raw, Num: start + 1}
		if !isComment(joined) && strings.TrimSpace(joined) != "" {
			if strings.HasSuffix(strings.TrimRight(joined, " \t\r"), "\\") {
				return nil, &SyntaxError{start + 1, "the file ends inside a continued line (a trailing backslash)"}
			}
			r, err := parseRule(joined)
			if err != nil {
				return nil, &SyntaxError{start + 1, err.Error()}
			}
			ln.Rule = r
		}
		f.Lines = append(f.Lines, ln)
	}
	return f, nil
}

func isComment(s string) bool { return strings.HasPrefix(strings.TrimLeft(s, " \t\r"), "#") }

var ops = []string{"==", "!=", "+=", "-=", ":=", "="}

// parseRule reads KEY{ATTR}OP"VALUE" pairs separated by commas and blanks,
// as udev's rule tokenizer does.
func parseRule(s string) (*Rule, error) {
	r := &Rule{}
	i := 0
	skipSep := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == ',' || s[i] == '\r') {
			i++
		}
	}
	for {
		skipSep()
		if i >= len(s) {
			break
		}
		var p Pair
		k := i
		for i < len(s) && (isKeyChar(s[i])) {
			i++
		}
		p.Key = s[k:i]
		if p.Key == "" {
			return nil, fmt.Errorf("want a key such as ATTR{address} at column %d, found %q", i+1, clip(s[i:]))
		}
		if i < len(s) && s[i] == '{' {
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return nil, fmt.Errorf("key %s: '{' without '}'", p.Key)
			}
			p.Attr = s[i+1 : i+end]
			if p.Attr == "" {
				return nil, fmt.Errorf("key %s: empty {}", p.Key)
			}
			i += end + 1
		}
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		for _, op := range ops {
			if strings.HasPrefix(s[i:], op) {
				p.Op = op
				break
			}
		}
		if p.Op == "" {
			return nil, fmt.Errorf("key %s: want an operator (==, !=, =, +=, -=, :=) at column %d, found %q", p.Key, i+1, clip(s[i:]))
		}
		i += len(p.Op)
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i < len(s) && s[i] == 'e' && i+1 < len(s) && s[i+1] == '"' {
			p.E = true
			i++
		}
		if i >= len(s) || s[i] != '"' {
			return nil, fmt.Errorf("key %s: the value must be in double quotes, found %q", p.Key, clip(s[i:]))
		}
		i++
		v := i
		for i < len(s) && s[i] != '"' {
			if s[i] == '\\' && i+1 < len(s) {
				i++
			}
			i++
		}
		if i >= len(s) {
			return nil, fmt.Errorf("key %s: the value has no closing double quote", p.Key)
		}
		p.Value = s[v:i]
		i++
		if i < len(s) && s[i] != ',' && s[i] != ' ' && s[i] != '\t' && s[i] != '\r' {
			return nil, fmt.Errorf("key %s: want a comma after the value, found %q", p.Key, clip(s[i:]))
		}
		r.Pairs = append(r.Pairs, p)
	}
	return r, nil
}

func isKeyChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_'
}

func clip(s string) string {
	if len(s) > 20 {
		return s[:20] + "..."
	}
	return s
}

// Render writes the file back: each line as it was read, or as its rule
// renders when the line was made by NewLine.
func (f *File) Render() []byte {
	var b strings.Builder
	for i, l := range f.Lines {
		b.WriteString(l.Raw)
		if i < len(f.Lines)-1 || !f.NoFinalNewline {
			b.WriteByte('\n')
		}
	}
	return []byte(b.String())
}

// String renders a rule in udev's usual form: pairs joined by ", ".
func (r *Rule) String() string {
	parts := make([]string, len(r.Pairs))
	for i, p := range r.Pairs {
		parts[i] = p.String()
	}
	return strings.Join(parts, ", ")
}

// String renders one pair.
func (p Pair) String() string {
	var b strings.Builder
	b.WriteString(p.Key)
	if p.Attr != "" {
		b.WriteString("{" + p.Attr + "}")
	}
	b.WriteString(p.Op)
	if p.E {
		b.WriteByte('e')
	}
	b.WriteString(`"` + p.Value + `"`)
	return b.String()
}

// Get returns the value of the first pair with this key, attribute and
// operator class: match ("==", "!=") or assign (the others).
func (r *Rule) Get(key, attr string, match bool) (Pair, bool) {
	for _, p := range r.Pairs {
		if p.Key == key && p.Attr == attr && (p.Op == "==" || p.Op == "!=") == match {
			return p, true
		}
	}
	return Pair{}, false
}
