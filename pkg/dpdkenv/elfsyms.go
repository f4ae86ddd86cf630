package dpdkenv

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
)

// ObjectSymbols are the symbols of one archive member.
type ObjectSymbols struct {
	Member    string
	Defined   []string
	Undefined []string
}

// ErrNotELF: an archive member is not an ELF object.
var ErrNotELF = errors.New("member is not an ELF object")

// MemberSymbols reads the symbol table of one member with debug/elf: the
// names it defines and the names it references but leaves undefined.
func MemberSymbols(m Member) (s ObjectSymbols, err error) {
	s.Member = m.Name
	if !bytes.HasPrefix(m.Data, []byte(elf.ELFMAG)) {
		return s, fmt.Errorf("%s: %w", m.Name, ErrNotELF)
	}
	defer func() {
		// debug/elf is hardened, but a doctor must never crash on a file.
		if p := recover(); p != nil {
			err = fmt.Errorf("%s: reading ELF symbols: %v", m.Name, p)
		}
	}()
	f, err := elf.NewFile(bytes.NewReader(m.Data))
	if err != nil {
		return s, fmt.Errorf("%s: %w", m.Name, err)
	}
	syms, err := f.Symbols()
	if err != nil {
		if errors.Is(err, elf.ErrNoSymbols) {
			return s, nil
		}
		return s, fmt.Errorf("%s: %w", m.Name, err)
	}
	for _, y := range syms {
		if y.Name == "" {
			continue
		}
		t := elf.ST_TYPE(y.Info)
		if t == elf.STT_SECTION || t == elf.STT_FILE {
			continue
		}
		if y.Section == elf.SHN_UNDEF {
			s.Undefined = append(s.Undefined, y.Name)
		} else {
			s.Defined = append(s.Defined, y.Name)
		}
	}
	return s, nil
}

// References reports which members of the archive leave sym undefined,
// that is call or use it from elsewhere. Members whose bytes do not hold
// the name are not parsed at all (a symbol's name is in its string table).
// Members that are not ELF objects are ignored; a corrupt ELF member is an
// error.
func (a *Archive) References(sym string) ([]string, error) {
	needle := []byte(sym)
	var out []string
	for _, m := range a.Members {
		if !bytes.Contains(m.Data, needle) {
			continue
		}
		s, err := MemberSymbols(m)
		if errors.Is(err, ErrNotELF) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, u := range s.Undefined {
			if u == sym {
				out = append(out, m.Name)
				break
			}
		}
	}
	return out, nil
}
