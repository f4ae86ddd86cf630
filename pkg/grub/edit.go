package grub

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/photonctl/photonctl/pkg/engine"
)

// Sentinel errors callers test with errors.Is.
var (
	// ErrSyntax: the file is not valid shell.
	ErrSyntax = errors.New("not valid shell")
	// ErrCannotEdit: the value depends on something only running the shell
	// (or the whole boot) could tell, so photonctl refuses to guess.
	ErrCannotEdit = errors.New("cannot be edited safely")
)

// Error is a problem at a line of a file. It is bad input (exit 2): the file
// is the user's to fix.
type Error struct {
	Path string
	Line int
	Msg  string
	Err  error // ErrSyntax or ErrCannotEdit
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Path, e.Msg)
}

// Unwrap makes the error match its sentinel and engine.ErrBadInput.
func (e *Error) Unwrap() []error { return []error{e.Err, engine.ErrBadInput} }

// Source is one file the shell reads, in the order it reads them.
type Source struct {
	Path string
	Data []byte
}

type parsed struct {
	src  Source
	file *File
}

func parseAll(srcs []Source) ([]parsed, error) {
	out := make([]parsed, len(srcs))
	for i, s := range srcs {
		f, err := Parse(s.Data)
		if err != nil {
			var se *SyntaxError
			if errors.As(err, &se) {
				return nil, &Error{Path: s.Path, Line: se.Line, Msg: se.Msg, Err: ErrSyntax}
			}
			return nil, err
		}
		out[i] = parsed{s, f}
	}
	return out, nil
}

// at is one statement across the sources.
type at struct{ f, s int }

// tok is one token of a variable's final value.
type tok struct {
	text string
	// owner is the chain link whose literal text it is; pieces its range in
	// that statement's value.
	owner    int
	from, to int
}

// chain is how the shell arrives at a variable's final value: a base
// assignment and the self-referencing ones after it.
type chain struct {
	name  string
	links []at // base first
	toks  []tok
}

func (p parsed) path() string { return p.src.Path }

func refuse(p parsed, s *Stmt, format string, a ...any) error {
	return &Error{Path: p.path(), Line: s.Line, Msg: fmt.Sprintf(format, a...), Err: ErrCannotEdit}
}

// resolve works out the chain deciding name's value. links is empty when no
// file assigns it.
func resolve(ps []parsed, name string) (*chain, error) {
	var all []at
	for fi, p := range ps {
		for si, s := range p.file.Stmts {
			if s.Kind == KindAssign && s.Name == name {
				all = append(all, at{fi, si})
			}
		}
	}
	c := &chain{name: name}
	stmt := func(a at) *Stmt { return ps[a.f].file.Stmts[a.s] }
	for k := len(all) - 1; k >= 0; k-- {
		c.links = append([]at{all[k]}, c.links...)
		if !selfRef(stmt(all[k]), name) {
			break
		}
		if k == 0 {
			s := stmt(all[k])
			return nil, refuse(ps[all[k].f], s, "%s takes its own earlier value ($%s), but no earlier line sets it, so it comes from the environment; set it with a plain %s=\"...\" first", name, name, name)
		}
	}
	// Everything from the base on must be plain.
	from := at{}
	if len(c.links) > 0 {
		from = c.links[0]
	}
	for fi := from.f; fi < len(ps); fi++ {
		p := ps[fi]
		si := 0
		if fi == from.f {
			si = from.s
		}
		for ; si < len(p.file.Stmts); si++ {
			s := p.file.Stmts[si]
			switch {
			case s.Kind == KindAssign && s.Name == name && s.Depth > 0:
				return nil, refuse(p, s, "%s is set inside a conditional or loop (if/case/for/while); photonctl cannot tell which value wins: move it out of the block, or add the arguments to it by hand", name)
			case s.Kind == KindOther && s.ExportOnly:
				// export NAME ...: changes no value.
			case s.Kind == KindOther && mentions(s.Raw, name):
				return nil, refuse(p, s, "%s is used by a command photonctl does not interpret (%s); add the arguments by hand", name, firstLine(s.Raw))
			case s.Kind == KindOther && sources(s):
				return nil, refuse(p, s, "this line runs other shell code (%s) that may set %s; photonctl cannot tell what it does: add the arguments by hand", firstLine(s.Raw), name)
			}
		}
	}
	for li, a := range c.links {
		s := stmt(a)
		p := ps[a.f]
		var err error
		c.toks, err = linkTokens(p, s, name, li, c.toks)
		if err != nil {
			return nil, err
		}
	}
	return c, nil
}

func selfRef(s *Stmt, name string) bool {
	for _, p := range s.Value.Pieces {
		if p.Kind == PieceVar && p.Name == name {
			return true
		}
	}
	return false
}

// linkTokens splits one chain link's value into tokens, putting the tokens
// of the earlier value where it refers to itself.
func linkTokens(p parsed, s *Stmt, name string, li int, prev []tok) ([]tok, error) {
	ps := s.Value.Pieces
	for _, pc := range ps {
		switch {
		case pc.Kind == PieceUnknown:
			return nil, refuse(p, s, "the value of %s uses %s, whose result photonctl cannot know; take it out of %s or add the arguments by hand", name, pc.Name, name)
		case pc.Kind == PieceVar && pc.Name != name:
			return nil, refuse(p, s, "the value of %s depends on $%s; photonctl edits only literal values: write the arguments out, or add them by hand", name, pc.Name)
		}
	}
	var out []tok
	i := 0
	for i < len(ps) {
		if ps[i].space() {
			i++
			continue
		}
		j := i
		for j < len(ps) && !ps[j].space() {
			j++
		}
		if j-i == 1 && ps[i].Kind == PieceVar {
			out = append(out, prev...)
		} else {
			var b strings.Builder
			for _, pc := range ps[i:j] {
				if pc.Kind == PieceVar {
					return nil, refuse(p, s, "$%s is glued to other text in the value of %s; photonctl cannot split it into arguments: put spaces around it", name, name)
				}
				b.WriteByte(pc.Ch)
			}
			out = append(out, tok{text: b.String(), owner: li, from: i, to: j})
		}
		i = j
	}
	return out, nil
}

func mentions(raw []byte, name string) bool {
	s := string(raw)
	for i := 0; ; {
		j := strings.Index(s[i:], name)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(name)
		if (j == 0 || !isNameChar(s[j-1], false)) && (end == len(s) || !isNameChar(s[end], false)) {
			return true
		}
		i = j + 1
	}
}

func sources(s *Stmt) bool {
	for _, c := range s.Commands {
		switch c {
		case ".", "source", "eval", "read", "set", "unset", "":
			return true
		}
	}
	return false
}

func firstLine(b []byte) string {
	s := strings.TrimRight(string(b), "\n")
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " ..."
	}
	return s
}

// Value is the final value of name across srcs as whitespace-separated
// tokens, with the path and line of the statement that decides it ("" and
// 0 when no file sets it). It fails where Edit would refuse.
func Value(srcs []Source, name string) (tokens []string, path string, line int, err error) {
	ps, err := parseAll(srcs)
	if err != nil {
		return nil, "", 0, err
	}
	c, err := resolve(ps, name)
	if err != nil {
		return nil, "", 0, err
	}
	for _, t := range c.toks {
		tokens = append(tokens, t.text)
	}
	if n := len(c.links); n > 0 {
		a := c.links[n-1]
		path, line = ps[a.f].path(), ps[a.f].file.Stmts[a.s].Line
	}
	return tokens, path, line, nil
}

// FileEdit is one file an edit changes.
type FileEdit struct {
	Path string
	Line int
	// Before and After are the statement as it was and as it becomes.
	Before, After string
	Data          []byte // the whole new file
}

// Edit is the outcome of EditArgs.
type Edit struct {
	Name          string
	Before, After []string // the final value's tokens
	Files         []FileEdit
}

// EditArgs changes the final value of variable name (GRUB_CMDLINE_LINUX)
// across srcs, the main file first and drop-ins after, so that it holds every
// argument of add (replacing the value of a key already there) and none that
// remove takes away. It edits the statements that decide the value and no
// other byte. With nothing to change, Files is empty.
func EditArgs(srcs []Source, name string, add, remove []string) (*Edit, error) {
	for _, a := range append(append([]string(nil), add...), remove...) {
		if err := ValidateArg(a); err != nil {
			return nil, engine.BadInput("kernel argument: %v", err)
		}
	}
	if len(srcs) == 0 {
		return nil, fmt.Errorf("no file to edit %s in", name)
	}
	ps, err := parseAll(srcs)
	if err != nil {
		return nil, err
	}
	c, err := resolve(ps, name)
	if err != nil {
		return nil, err
	}
	e := &Edit{Name: name}
	for _, t := range c.toks {
		e.Before = append(e.Before, t.text)
	}
	ops, app := planArgs(e.Before, add, remove)
	e.After = ApplyArgs(e.Before, add, remove)
	if len(ops) == 0 && len(app) == 0 {
		return e, nil
	}
	if len(c.links) == 0 {
		// Nobody sets it: add the assignment to the end of the main file.
		p := ps[0]
		if p.file.EndDepth > 0 {
			return nil, &Error{Path: p.path(), Line: countLines(p.src.Data), Msg: fmt.Sprintf("no line sets %s and the file ends inside an unclosed if/case/for/while/{ block; add %s=\"%s\" by hand", name, name, strings.Join(app, " ")), Err: ErrCannotEdit}
		}
		data := append([]byte(nil), p.src.Data...)
		if len(data) > 0 && data[len(data)-1] != '\n' {
			data = append(data, '\n')
		}
		line := fmt.Sprintf("%s=\"%s\"", name, strings.Join(app, " "))
		data = append(data, line+"\n"...)
		e.Files = append(e.Files, FileEdit{Path: p.path(), Line: countLines(p.src.Data) + 1, After: line, Data: data})
		if err := readBack(e, srcs, map[int][]byte{0: data}); err != nil {
			return nil, &Error{Path: p.path(), Line: countLines(p.src.Data), Msg: fmt.Sprintf("no line sets %s, and a line added after the last one would not stand on its own (a trailing \\ or an open command list?); add %s by hand", name, line), Err: ErrCannotEdit}
		}
		return e, nil
	}
	// Splices per chain link.
	splices := map[int][]splice{}
	for _, o := range ops {
		t := c.toks[o.index]
		s := ps[c.links[t.owner].f].file.Stmts[c.links[t.owner].s]
		sp, err := tokenSplice(ps[c.links[t.owner].f], s, t, o)
		if err != nil {
			return nil, err
		}
		splices[t.owner] = append(splices[t.owner], sp)
	}
	if len(app) > 0 {
		last := len(c.links) - 1
		s := ps[c.links[last].f].file.Stmts[c.links[last].s]
		// Does anything stay in front of the new arguments?
		left := selfRef(s, name)
		for i, t := range c.toks {
			if t.owner == last && !deleted(ops, i) {
				left = true
			}
		}
		splices[last] = append(splices[last], appendSplice(s, app, left))
	}
	newData := map[int][]byte{}
	owners := make([]int, 0, len(splices))
	for li := range splices {
		owners = append(owners, li)
	}
	sort.Ints(owners)
	for _, li := range owners {
		a := c.links[li]
		f := ps[a.f].file
		s := f.Stmts[a.s]
		raw := applySplices(s.Raw, splices[li])
		// Rebuild the file with the new statement.
		var data []byte
		for si, st := range f.Stmts {
			if si == a.s {
				data = append(data, raw...)
			} else {
				data = append(data, st.Raw...)
			}
		}
		f.Stmts[a.s] = &Stmt{Raw: raw, Line: s.Line, Kind: s.Kind, Name: s.Name}
		newData[a.f] = data
		e.Files = append(e.Files, FileEdit{Path: ps[a.f].path(), Line: s.Line,
			Before: strings.TrimRight(string(s.Raw), "\n"), After: strings.TrimRight(string(raw), "\n")})
	}
	// Several links in one file: the file's data is the last rebuild.
	for i := range e.Files {
		for fi, p := range ps {
			if p.path() == e.Files[i].Path {
				e.Files[i].Data = newData[fi]
			}
		}
	}
	e.Files = mergeFileEdits(e.Files)
	if err := readBack(e, srcs, newData); err != nil {
		return nil, err
	}
	return e, nil
}

// mergeFileEdits keeps one entry per file (the data is already the file's
// full result), joining the statements shown.
func mergeFileEdits(in []FileEdit) []FileEdit {
	var out []FileEdit
	idx := map[string]int{}
	for _, fe := range in {
		if i, ok := idx[fe.Path]; ok {
			out[i].Before += "\n" + fe.Before
			out[i].After += "\n" + fe.After
			continue
		}
		idx[fe.Path] = len(out)
		out = append(out, fe)
	}
	return out
}

// readBack reads the edited sources as the shell would and checks that the
// value is the one the edit meant.
func readBack(e *Edit, srcs []Source, newData map[int][]byte) error {
	name := e.Name
	next := append([]Source(nil), srcs...)
	for fi, d := range newData {
		next[fi].Data = d
	}
	got, _, _, err := Value(next, name)
	if err != nil {
		return fmt.Errorf("the edited %s does not read back (%v); this is a photonctl bug: edit by hand", name, err)
	}
	if strings.Join(got, " ") != strings.Join(e.After, " ") {
		return fmt.Errorf("the edited %s reads back as %q, not %q; this is a photonctl bug: edit by hand", name, strings.Join(got, " "), strings.Join(e.After, " "))
	}
	return nil
}

func countLines(b []byte) int {
	n := strings.Count(string(b), "\n")
	if len(b) > 0 && b[len(b)-1] != '\n' {
		n++
	}
	return n
}

// splice replaces Raw[start:end] with text.
type splice struct {
	start, end int
	text       string
}

func applySplices(raw []byte, sp []splice) []byte {
	sort.Slice(sp, func(i, j int) bool { return sp[i].start > sp[j].start })
	out := append([]byte(nil), raw...)
	for _, s := range sp {
		out = append(out[:s.start:s.start], append([]byte(s.text), out[s.end:]...)...)
	}
	return out
}

func tokenSplice(p parsed, s *Stmt, t tok, o op) (splice, error) {
	ps := s.Value.Pieces
	first, last := ps[t.from], ps[t.to-1]
	if o.kind == opReplace {
		for k := t.from; k < t.to; k++ {
			if ps[k].Quoting != first.Quoting || k > t.from && ps[k].Start != ps[k-1].End {
				return splice{}, refuse(p, s, "%q in the value of %s is written with mixed quoting or escapes; photonctl will not rewrite it: change it to %s by hand", t.text, s.Name, o.text)
			}
		}
		return splice{first.Start, last.End, o.text}, nil
	}
	start, end := first.Start, last.End
	k := t.from - 1
	for k >= 0 && ps[k].space() && ps[k].End == start {
		start = ps[k].Start
		k--
	}
	if start == first.Start {
		k = t.to
		for k < len(ps) && ps[k].space() && ps[k].Start == end {
			end = ps[k].End
			k++
		}
	}
	return splice{start, end, ""}, nil
}

func deleted(ops []op, i int) bool {
	for _, o := range ops {
		if o.index == i && o.kind == opDelete {
			return true
		}
	}
	return false
}

// appendSplice adds args at the end of the statement's value; left says
// whether some of the value stays in front of them.
func appendSplice(s *Stmt, args []string, left bool) splice {
	text := strings.Join(args, " ")
	w := s.Value
	ps := w.Pieces
	if len(ps) == 0 {
		if w.End-w.Start >= 2 { // "" or ''
			return splice{w.Start + 1, w.Start + 1, text}
		}
		return splice{w.Start, w.End, `"` + text + `"`}
	}
	lastP := ps[len(ps)-1]
	sep := " "
	if lastP.space() || !left {
		sep = ""
	}
	if lastP.Quoting != Unquoted && w.End == lastP.End+1 {
		return splice{lastP.End, lastP.End, sep + text}
	}
	plain := true
	for _, p := range ps {
		plain = plain && p.Quoting == Unquoted && (p.Kind == PieceVar || p.End-p.Start == 1)
	}
	if plain {
		raw := string(s.Raw[w.Start:w.End])
		return splice{w.Start, w.End, `"` + raw + sep + text + `"`}
	}
	return splice{w.End, w.End, `"` + sep + text + `"`}
}
