package dpdkenv

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Errors of the archive reader, for callers that test the condition.
var (
	// ErrNotArchive: the data does not start with the "!<arch>\n" magic.
	ErrNotArchive = errors.New("not an ar archive")
	// ErrThinArchive: a thin archive names its members' files instead of
	// holding them; there is nothing in it to read.
	ErrThinArchive = errors.New("thin ar archive (members are outside it)")
	// ErrBadArchive: the archive is truncated or its headers are corrupt.
	ErrBadArchive = errors.New("corrupt ar archive")
)

const (
	arMagic     = "!<arch>\n"
	arThinMagic = "!<thin>\n"
	arHeaderLen = 60
)

// Archive is a parsed ar archive (a static library such as libfstack.a).
type Archive struct {
	// Index is the archive's symbol table ("/" or "/SYM64/" member): the
	// symbols the members define, each with the offset of its member's
	// header. Empty when the archive has none (ar without s).
	Index []IndexEntry
	// Members are the files in the archive, in order, without the special
	// members (symbol table, long-name table).
	Members []Member
}

// IndexEntry is one symbol of the archive's symbol table.
type IndexEntry struct {
	Name   string
	Offset int64 // of the defining member's header
}

// Member is one file of the archive.
type Member struct {
	Name   string
	Offset int64 // of its header in the archive
	Data   []byte
}

// ParseArchive reads an ar archive in the System V / GNU format (with the
// "//" long-name table and the "/" or "/SYM64/" symbol table) or the BSD
// format ("#1/len" names, "__.SYMDEF" is kept as a member). Member data
// aliases b.
func ParseArchive(b []byte) (*Archive, error) {
	if len(b) >= len(arThinMagic) && string(b[:len(arThinMagic)]) == arThinMagic {
		return nil, ErrThinArchive
	}
	if len(b) < len(arMagic) || string(b[:len(arMagic)]) != arMagic {
		return nil, ErrNotArchive
	}
	a := &Archive{}
	var longNames []byte
	off := int64(len(arMagic))
	n := int64(len(b))
	for off < n {
		if n-off < arHeaderLen {
			// A lone padding byte or trailing newline is tolerated.
			if strings.TrimSpace(string(b[off:])) == "" {
				break
			}
			return nil, fmt.Errorf("%w: %d stray bytes at offset %d", ErrBadArchive, n-off, off)
		}
		hdr := b[off : off+arHeaderLen]
		if hdr[58] != '`' || hdr[59] != '\n' {
			return nil, fmt.Errorf("%w: bad header terminator at offset %d", ErrBadArchive, off)
		}
		rawName := strings.TrimRight(string(hdr[0:16]), " ")
		sizeField := strings.TrimSpace(string(hdr[48:58]))
		size, err := strconv.ParseInt(sizeField, 10, 64)
		if err != nil || size < 0 {
			return nil, fmt.Errorf("%w: bad member size %q at offset %d", ErrBadArchive, sizeField, off)
		}
		start := off + arHeaderLen
		if size > n-start {
			return nil, fmt.Errorf("%w: member at offset %d claims %d bytes, %d left", ErrBadArchive, off, size, n-start)
		}
		data := b[start : start+size]
		switch {
		case rawName == "/":
			idx, err := parseIndex(data, 4)
			if err != nil {
				return nil, err
			}
			a.Index = append(a.Index, idx...)
		case rawName == "/SYM64/":
			idx, err := parseIndex(data, 8)
			if err != nil {
				return nil, err
			}
			a.Index = append(a.Index, idx...)
		case rawName == "//":
			longNames = data
		default:
			name, body, err := memberName(rawName, data, longNames)
			if err != nil {
				return nil, fmt.Errorf("member at offset %d: %w", off, err)
			}
			a.Members = append(a.Members, Member{Name: name, Offset: off, Data: body})
		}
		off = start + size
		if off%2 == 1 {
			off++
		}
	}
	return a, nil
}

// memberName resolves a header name: "name/" (GNU), "/123" (offset into the
// long-name table), "#1/len" (BSD: the name opens the data) or a plain name.
func memberName(raw string, data, longNames []byte) (string, []byte, error) {
	switch {
	case strings.HasPrefix(raw, "#1/"):
		l, err := strconv.Atoi(raw[3:])
		if err != nil || l < 0 || l > len(data) {
			return "", nil, fmt.Errorf("%w: bad BSD name length %q", ErrBadArchive, raw)
		}
		return strings.TrimRight(string(data[:l]), "\x00"), data[l:], nil
	case len(raw) > 1 && raw[0] == '/' && raw[1] >= '0' && raw[1] <= '9':
		o, err := strconv.Atoi(raw[1:])
		if err != nil || o < 0 || o >= len(longNames) {
			return "", nil, fmt.Errorf("%w: long name %q points outside the // table (%d bytes)", ErrBadArchive, raw, len(longNames))
		}
		rest := longNames[o:]
		end := bytes.IndexByte(rest, '\n')
		if end < 0 {
			end = len(rest)
		}
		return strings.TrimSuffix(string(rest[:end]), "/"), data, nil
	default:
		return strings.TrimSuffix(raw, "/"), data, nil
	}
}

// parseIndex reads a System V symbol table with w-byte big-endian words:
// a count, that many member offsets, then as many NUL-terminated names.
func parseIndex(d []byte, w int) ([]IndexEntry, error) {
	word := func(p []byte) uint64 {
		if w == 4 {
			return uint64(binary.BigEndian.Uint32(p))
		}
		return binary.BigEndian.Uint64(p)
	}
	if len(d) < w {
		return nil, fmt.Errorf("%w: symbol table of %d bytes", ErrBadArchive, len(d))
	}
	count := word(d)
	if count > uint64((len(d)-w)/w) {
		return nil, fmt.Errorf("%w: symbol table claims %d symbols in %d bytes", ErrBadArchive, count, len(d))
	}
	offs := d[w : w+int(count)*w]
	names := d[w+int(count)*w:]
	out := make([]IndexEntry, 0, count)
	for i := 0; i < int(count); i++ {
		end := bytes.IndexByte(names, 0)
		if end < 0 {
			return nil, fmt.Errorf("%w: symbol table ends inside name %d of %d", ErrBadArchive, i+1, count)
		}
		o := word(offs[i*w:])
		if o > 1<<62 {
			return nil, fmt.Errorf("%w: symbol offset %d out of range", ErrBadArchive, o)
		}
		out = append(out, IndexEntry{Name: string(names[:end]), Offset: int64(o)})
		names = names[end+1:]
	}
	return out, nil
}
