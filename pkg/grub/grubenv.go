package grub

import (
	"bytes"
	"fmt"
	"strings"
)

// grubenvHeader starts every GRUB environment block.
const grubenvHeader = "# GRUB Environment Block\n"

// GrubenvSize is the size grub-editenv gives a new block.
const GrubenvSize = 1024

// Grubenv is a GRUB environment block (/boot/grub2/grubenv): a fixed-size
// file of name=value lines padded with '#', as grub-editenv writes it. In
// values, '\' and newline are escaped with '\'.
type Grubenv struct {
	Size int
	Vars []GrubenvVar
}

// GrubenvVar is one variable of a block, or (Name "") a comment line kept
// as it is (grub-editenv writes a warning line).
type GrubenvVar struct{ Name, Value string }

// ParseGrubenv reads an environment block.
func ParseGrubenv(b []byte) (*Grubenv, error) {
	if !bytes.HasPrefix(b, []byte(grubenvHeader)) {
		return nil, fmt.Errorf("not a GRUB environment block: it does not start with %q; recreate it with grub2-editenv FILE create", strings.TrimSpace(grubenvHeader))
	}
	g := &Grubenv{Size: len(b)}
	rest := b[len(grubenvHeader):]
	for len(rest) > 0 {
		if rest[0] == '#' {
			i := bytes.IndexByte(rest, '\n')
			if i < 0 {
				break
			}
			if len(bytes.Trim(rest[:i], "#")) == 0 {
				break // padding
			}
			g.Vars = append(g.Vars, GrubenvVar{Value: string(rest[:i])})
			rest = rest[i+1:]
			continue
		}
		eq := bytes.IndexByte(rest, '=')
		nl := bytes.IndexByte(rest, '\n')
		if eq < 0 || nl >= 0 && nl < eq {
			return nil, fmt.Errorf("grubenv: a line without '=' (%q); recreate the block with grub2-editenv", firstLine(rest))
		}
		name := string(rest[:eq])
		if name == "" {
			return nil, fmt.Errorf("grubenv: a variable without a name; recreate the block with grub2-editenv")
		}
		var v []byte
		i := eq + 1
		for ; i < len(rest) && rest[i] != '\n'; i++ {
			if rest[i] == '\\' && i+1 < len(rest) {
				i++
			}
			v = append(v, rest[i])
		}
		if i >= len(rest) {
			return nil, fmt.Errorf("grubenv: the value of %s has no end of line; recreate the block with grub2-editenv", name)
		}
		g.Vars = append(g.Vars, GrubenvVar{name, string(v)})
		rest = rest[i+1:]
	}
	return g, nil
}

// Get returns a variable's value.
func (g *Grubenv) Get(name string) (string, bool) {
	for _, v := range g.Vars {
		if v.Name == name && name != "" {
			return v.Value, true
		}
	}
	return "", false
}

// Set sets a variable, keeping its place if it is there.
func (g *Grubenv) Set(name, value string) {
	for i, v := range g.Vars {
		if v.Name == name && name != "" {
			g.Vars[i].Value = value
			return
		}
	}
	g.Vars = append(g.Vars, GrubenvVar{name, value})
}

// Render writes the block at its size (at least GrubenvSize), as
// grub-editenv does. A block whose variables do not fit is an error: GRUB
// reads only the fixed-size block.
func (g *Grubenv) Render() ([]byte, error) {
	size := g.Size
	if size < GrubenvSize {
		size = GrubenvSize
	}
	var b bytes.Buffer
	b.WriteString(grubenvHeader)
	for _, v := range g.Vars {
		if v.Name == "" {
			b.WriteString(v.Value + "\n")
			continue
		}
		b.WriteString(v.Name)
		b.WriteByte('=')
		for i := 0; i < len(v.Value); i++ {
			if c := v.Value[i]; c == '\\' || c == '\n' {
				b.WriteByte('\\')
			}
			b.WriteByte(v.Value[i])
		}
		b.WriteByte('\n')
	}
	if b.Len() > size {
		return nil, fmt.Errorf("grubenv: the variables take %d bytes, more than the %d-byte block holds", b.Len(), size)
	}
	b.Write(bytes.Repeat([]byte{'#'}, size-b.Len()))
	return b.Bytes(), nil
}
