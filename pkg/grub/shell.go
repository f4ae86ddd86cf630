package grub

import (
	"bytes"
	"fmt"
)

// Kind says what a statement of a shell file is.
type Kind int

const (
	KindBlank   Kind = iota // white space only
	KindComment             // a comment line
	KindAssign              // [export] NAME=VALUE [# comment]
	KindOther               // anything else (if, fi, commands, several assignments)
)

// PieceKind says what one piece of a shell word is.
type PieceKind int

const (
	PieceChar    PieceKind = iota // one byte of the value
	PieceVar                      // $NAME or ${NAME}
	PieceUnknown                  // $(...), `...`, $((...)), ${NAME:-x}, $1: unknown to a reader
)

// Quoting is the quoting context a piece stands in.
type Quoting int

const (
	Unquoted Quoting = iota
	SingleQuoted
	DoubleQuoted
)

// Piece is one element of a word: a byte the shell sees, a variable
// reference or something only running the shell could tell.
type Piece struct {
	Kind PieceKind
	Ch   byte   // PieceChar
	Name string // PieceVar: the variable; PieceUnknown: the raw text
	// Start and End are the piece's bytes in the statement's Raw (an
	// escaped character spans two bytes).
	Start, End int
	Quoting    Quoting
}

func (p Piece) space() bool {
	return p.Kind == PieceChar && (p.Ch == ' ' || p.Ch == '\t' || p.Ch == '\n')
}

// Word is a shell word: the value of an assignment.
type Word struct {
	Start, End int // raw span in the statement, quotes included
	Pieces     []Piece
}

// Stmt is one statement: one logical line (continuations and trailing
// operators join lines), its comment and its newline.
type Stmt struct {
	Raw  []byte
	Line int // line of its first byte, from 1
	Kind Kind
	// Depth is how deep in if/case/for/while/{ } blocks the statement is.
	Depth int
	// KindAssign.
	Export bool
	Name   string
	Value  Word
	// KindOther: the first word of every command in it.
	Commands []string
	// ExportOnly: KindOther that is `export NAME...` and nothing else.
	ExportOnly bool
}

// File is a parsed shell assignment list. Rendering it gives back its input
// byte for byte.
type File struct {
	Stmts []*Stmt
	// EndDepth is the block depth at the end: > 0 when an if/case/for/
	// while/{ is not closed.
	EndDepth int
}

// Render returns the file's bytes.
func (f *File) Render() []byte {
	var b bytes.Buffer
	for _, s := range f.Stmts {
		b.Write(s.Raw)
	}
	return b.Bytes()
}

// SyntaxError is input the shell would not accept either.
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Parse reads a shell file made of assignments, comments and (kept but not
// understood) other commands, the way /bin/sh would split it.
func Parse(b []byte) (*File, error) {
	l := &lexer{b: b, line: 1}
	f := &File{}
	depth := 0
	for l.i < len(b) {
		s, err := l.stmt()
		if err != nil {
			return nil, err
		}
		s.Depth = depth
		for _, c := range s.Commands {
			switch c {
			case "if", "case", "for", "while", "until", "{", "select":
				depth++
			case "fi", "esac", "done", "}":
				if depth > 0 {
					depth--
				}
			}
		}
		f.Stmts = append(f.Stmts, s)
	}
	f.EndDepth = depth
	return f, nil
}

type lexer struct {
	b    []byte
	i    int
	line int
}

type token struct {
	op   string // operator text, "" for a word
	word Word
}

// stmt lexes one statement starting at l.i.
func (l *lexer) stmt() (*Stmt, error) {
	start, startLine := l.i, l.line
	var toks []token
	hasComment := false
	for l.i < len(l.b) {
		c := l.b[l.i]
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			l.i++
			continue
		case c == '\\' && l.i+1 < len(l.b) && l.b[l.i+1] == '\n':
			l.i += 2
			l.line++
			continue
		case c == '\n':
			l.i++
			l.line++
			if n := len(toks); n > 0 && isJoinOp(toks[n-1].op) {
				continue // `a &&` newline `b` is one command list
			}
			return l.finish(start, startLine, toks, hasComment), nil
		case c == '#':
			for l.i < len(l.b) && l.b[l.i] != '\n' {
				l.i++
			}
			hasComment = true
			continue
		case isOpChar(c):
			op := string(c)
			if l.i+1 < len(l.b) && l.b[l.i+1] == c && c != '(' && c != ')' {
				op += string(c)
			}
			l.i += len(op)
			toks = append(toks, token{op: op})
			continue
		}
		w, err := l.word(start)
		if err != nil {
			return nil, err
		}
		toks = append(toks, token{word: w})
	}
	return l.finish(start, startLine, toks, hasComment), nil
}

func isOpChar(c byte) bool {
	switch c {
	case ';', '&', '|', '<', '>', '(', ')':
		return true
	}
	return false
}

func isJoinOp(op string) bool { return op == "&&" || op == "||" || op == "|" }

func (l *lexer) finish(start, line int, toks []token, comment bool) *Stmt {
	s := &Stmt{Raw: l.b[start:l.i:l.i], Line: line}
	switch {
	case len(toks) == 0 && comment:
		s.Kind = KindComment
		return s
	case len(toks) == 0:
		s.Kind = KindBlank
		return s
	}
	words := toks
	if len(words) >= 2 && words[0].op == "" && literal(words[0].word) == "export" {
		s.Export = true
		words = words[1:]
	}
	if len(words) == 1 && words[0].op == "" {
		if name, val, ok := splitAssign(words[0].word); ok {
			s.Kind, s.Name, s.Value = KindAssign, name, val
			return s
		}
	}
	s.Kind = KindOther
	if s.Export {
		s.Export, s.ExportOnly = false, true
		for _, t := range toks[1:] {
			n := literal(t.word)
			ok := t.op == "" && n != ""
			for j := 0; ok && j < len(n); j++ {
				ok = isNameChar(n[j], j == 0)
			}
			s.ExportOnly = s.ExportOnly && ok
		}
	}
	cmdStart := true
	for _, t := range toks {
		if t.op != "" {
			cmdStart = t.op != "<" && t.op != ">" && t.op != ">>" && t.op != "<<"
			continue
		}
		if !cmdStart {
			continue
		}
		w := literal(t.word)
		s.Commands = append(s.Commands, w)
		// A keyword is followed by the start of another command.
		switch w {
		case "then", "do", "else", "elif", "if", "while", "until", "!", "{", "time":
			cmdStart = true
		default:
			cmdStart = false
		}
	}
	return s
}

// literal is the word's text if it is only unquoted-or-quoted bytes, else "".
func literal(w Word) string {
	var b []byte
	for _, p := range w.Pieces {
		if p.Kind != PieceChar {
			return ""
		}
		b = append(b, p.Ch)
	}
	return string(b)
}

// splitAssign splits NAME=VALUE; offsets of the value are kept.
func splitAssign(w Word) (string, Word, bool) {
	var name []byte
	for i, p := range w.Pieces {
		if p.Kind != PieceChar || p.Quoting != Unquoted || p.End-p.Start != 1 {
			return "", Word{}, false
		}
		c := p.Ch
		if c == '=' && i > 0 {
			return string(name), Word{Start: p.End, End: w.End, Pieces: w.Pieces[i+1:]}, true
		}
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return "", Word{}, false
		}
		name = append(name, c)
	}
	return "", Word{}, false
}

// word lexes one word; offsets are relative to base (the statement start).
func (l *lexer) word(base int) (Word, error) {
	w := Word{Start: l.i - base}
	add := func(p Piece) {
		p.Start -= base
		p.End -= base
		w.Pieces = append(w.Pieces, p)
	}
	for l.i < len(l.b) {
		c := l.b[l.i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || isOpChar(c):
			w.End = l.i - base
			return w, nil
		case c == '\\':
			if l.i+1 >= len(l.b) {
				add(Piece{Ch: '\\', Start: l.i, End: l.i + 1})
				l.i++
				continue
			}
			if l.b[l.i+1] == '\n' {
				l.i += 2
				l.line++
				continue
			}
			add(Piece{Ch: l.b[l.i+1], Start: l.i, End: l.i + 2})
			l.i += 2
		case c == '\'':
			open := l.line
			l.i++
			for {
				if l.i >= len(l.b) {
					return w, &SyntaxError{open, "unterminated ' quote: close it with '"}
				}
				if l.b[l.i] == '\'' {
					l.i++
					break
				}
				if l.b[l.i] == '\n' {
					l.line++
				}
				add(Piece{Ch: l.b[l.i], Start: l.i, End: l.i + 1, Quoting: SingleQuoted})
				l.i++
			}
		case c == '"':
			if err := l.double(add); err != nil {
				return w, err
			}
		case c == '$':
			p, err := l.dollar(Unquoted)
			if err != nil {
				return w, err
			}
			add(p)
		case c == '`':
			p, err := l.backtick(Unquoted)
			if err != nil {
				return w, err
			}
			add(p)
		default:
			add(Piece{Ch: c, Start: l.i, End: l.i + 1})
			l.i++
		}
	}
	w.End = l.i - base
	return w, nil
}

func (l *lexer) double(add func(Piece)) error {
	open := l.line
	l.i++
	for {
		if l.i >= len(l.b) {
			return &SyntaxError{open, `unterminated " quote: close it with "`}
		}
		c := l.b[l.i]
		switch c {
		case '"':
			l.i++
			return nil
		case '\\':
			if l.i+1 < len(l.b) {
				switch n := l.b[l.i+1]; n {
				case '\n':
					l.i += 2
					l.line++
					continue
				case '$', '`', '"', '\\':
					add(Piece{Ch: n, Start: l.i, End: l.i + 2, Quoting: DoubleQuoted})
					l.i += 2
					continue
				}
			}
			add(Piece{Ch: c, Start: l.i, End: l.i + 1, Quoting: DoubleQuoted})
			l.i++
		case '$':
			p, err := l.dollar(DoubleQuoted)
			if err != nil {
				return err
			}
			add(p)
		case '`':
			p, err := l.backtick(DoubleQuoted)
			if err != nil {
				return err
			}
			add(p)
		default:
			if c == '\n' {
				l.line++
			}
			add(Piece{Ch: c, Start: l.i, End: l.i + 1, Quoting: DoubleQuoted})
			l.i++
		}
	}
}

func isNameChar(c byte, first bool) bool {
	return c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || !first && c >= '0' && c <= '9'
}

// dollar lexes a $ expansion at l.i.
func (l *lexer) dollar(q Quoting) (Piece, error) {
	start := l.i
	b := l.b
	if l.i+1 >= len(b) {
		l.i++
		return Piece{Ch: '$', Start: start, End: l.i, Quoting: q}, nil
	}
	n := b[l.i+1]
	switch {
	case n == '(':
		open := l.line
		l.i += 2
		if err := l.skipTo(')', open, "$(...)"); err != nil {
			return Piece{}, err
		}
		return Piece{Kind: PieceUnknown, Name: string(b[start:l.i]), Start: start, End: l.i, Quoting: q}, nil
	case n == '{':
		open := l.line
		l.i += 2
		if err := l.skipTo('}', open, "${...}"); err != nil {
			return Piece{}, err
		}
		inner := b[start+2 : l.i-1]
		ok := len(inner) > 0
		for j, c := range inner {
			ok = ok && isNameChar(c, j == 0)
		}
		if ok {
			return Piece{Kind: PieceVar, Name: string(inner), Start: start, End: l.i, Quoting: q}, nil
		}
		return Piece{Kind: PieceUnknown, Name: string(b[start:l.i]), Start: start, End: l.i, Quoting: q}, nil
	case isNameChar(n, true):
		l.i++
		for l.i < len(b) && isNameChar(b[l.i], false) {
			l.i++
		}
		return Piece{Kind: PieceVar, Name: string(b[start+1 : l.i]), Start: start, End: l.i, Quoting: q}, nil
	case n >= '0' && n <= '9' || bytes.IndexByte([]byte("@*#?$!-"), n) >= 0:
		l.i += 2
		return Piece{Kind: PieceUnknown, Name: string(b[start:l.i]), Start: start, End: l.i, Quoting: q}, nil
	}
	l.i++
	return Piece{Ch: '$', Start: start, End: l.i, Quoting: q}, nil
}

func (l *lexer) backtick(q Quoting) (Piece, error) {
	start, open := l.i, l.line
	l.i++
	for {
		if l.i >= len(l.b) {
			return Piece{}, &SyntaxError{open, "unterminated `...` command substitution"}
		}
		switch l.b[l.i] {
		case '\\':
			l.i++
		case '\n':
			l.line++
		case '`':
			l.i++
			return Piece{Kind: PieceUnknown, Name: string(l.b[start:l.i]), Start: start, End: l.i, Quoting: q}, nil
		}
		l.i++
	}
}

// skipTo skips to the close byte that ends a $( or ${, minding nesting,
// quotes and escapes. The close byte is consumed.
func (l *lexer) skipTo(close byte, openLine int, what string) error {
	openB := byte('(')
	if close == '}' {
		openB = '{'
	}
	depth := 1
	for l.i < len(l.b) {
		c := l.b[l.i]
		switch c {
		case '\\':
			if l.i+1 < len(l.b) && l.b[l.i+1] == '\n' {
				l.line++
			}
			l.i += 2
			continue
		case '\n':
			l.line++
		case '\'':
			l.i++
			for l.i < len(l.b) && l.b[l.i] != '\'' {
				if l.b[l.i] == '\n' {
					l.line++
				}
				l.i++
			}
		case '"':
			l.i++
			for l.i < len(l.b) && l.b[l.i] != '"' {
				if l.b[l.i] == '\\' {
					l.i++
				}
				if l.i < len(l.b) && l.b[l.i] == '\n' {
					l.line++
				}
				l.i++
			}
		case openB:
			depth++
		case close:
			depth--
			if depth == 0 {
				l.i++
				return nil
			}
		}
		l.i++
	}
	return &SyntaxError{openLine, "unterminated " + what}
}
