// Package dpdkenvtest builds F-Stack look-alikes for tests: minimal ELF64
// objects in a GNU ar archive, so that libfstack checks run on the real
// formats without gcc, ar or any F-Stack code. For tests only.
package dpdkenvtest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"
)

// ELFObject builds a minimal ELF64 relocatable object (x86-64) whose symbol
// table defines the names in defined (in .text) and leaves the names in
// undefined undefined: what gcc -c makes of a file calling them. It stands
// in for libfstack's objects in the fixture tests, which must not need gcc;
// TestArchiveRealTools covers what gcc and ar really make.
func ELFObject(defined, undefined []string) []byte {
	le := binary.LittleEndian
	text := []byte{0xc3} // ret
	strtab := []byte{0}
	type sym struct {
		name  uint32
		info  byte
		shndx uint16
	}
	syms := []sym{{}}
	for _, n := range defined {
		syms = append(syms, sym{uint32(len(strtab)), 0x12, 1}) // GLOBAL FUNC in .text
		strtab = append(append(strtab, n...), 0)
	}
	for _, n := range undefined {
		syms = append(syms, sym{uint32(len(strtab)), 0x10, 0}) // GLOBAL NOTYPE UNDEF
		strtab = append(append(strtab, n...), 0)
	}
	var symtab bytes.Buffer
	for _, s := range syms {
		binary.Write(&symtab, le, s.name)
		symtab.WriteByte(s.info)
		symtab.WriteByte(0)
		binary.Write(&symtab, le, s.shndx)
		binary.Write(&symtab, le, uint64(0))
		binary.Write(&symtab, le, uint64(0))
	}
	shstr := []byte("\x00.text\x00.symtab\x00.strtab\x00.shstrtab\x00")
	// Layout: header, .text, .symtab (8-aligned), .strtab, .shstrtab, section headers.
	off := uint64(64)
	textOff := off
	off += uint64(len(text))
	off = (off + 7) &^ 7
	symOff := off
	off += uint64(symtab.Len())
	strOff := off
	off += uint64(len(strtab))
	shstrOff := off
	off += uint64(len(shstr))
	off = (off + 7) &^ 7
	shOff := off

	var b bytes.Buffer
	b.Write([]byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0})
	b.Write(make([]byte, 8))
	binary.Write(&b, le, uint16(1))  // ET_REL
	binary.Write(&b, le, uint16(62)) // EM_X86_64
	binary.Write(&b, le, uint32(1))
	binary.Write(&b, le, uint64(0)) // entry
	binary.Write(&b, le, uint64(0)) // phoff
	binary.Write(&b, le, shOff)
	binary.Write(&b, le, uint32(0))
	binary.Write(&b, le, uint16(64)) // ehsize
	binary.Write(&b, le, uint16(0))
	binary.Write(&b, le, uint16(0))
	binary.Write(&b, le, uint16(64)) // shentsize
	binary.Write(&b, le, uint16(5))  // shnum
	binary.Write(&b, le, uint16(4))  // shstrndx
	b.Write(text)
	for uint64(b.Len()) < symOff {
		b.WriteByte(0)
	}
	b.Write(symtab.Bytes())
	b.Write(strtab)
	b.Write(shstr)
	for uint64(b.Len()) < shOff {
		b.WriteByte(0)
	}
	sh := func(name, typ uint32, flags, o, size uint64, link, info uint32, align, entsize uint64) {
		binary.Write(&b, le, name)
		binary.Write(&b, le, typ)
		binary.Write(&b, le, flags)
		binary.Write(&b, le, uint64(0))
		binary.Write(&b, le, o)
		binary.Write(&b, le, size)
		binary.Write(&b, le, link)
		binary.Write(&b, le, info)
		binary.Write(&b, le, align)
		binary.Write(&b, le, entsize)
	}
	sh(0, 0, 0, 0, 0, 0, 0, 0, 0)
	sh(1, 1, 6, textOff, uint64(len(text)), 0, 0, 16, 0)   // .text PROGBITS AX
	sh(7, 2, 0, symOff, uint64(symtab.Len()), 3, 1, 8, 24) // .symtab, link .strtab
	sh(15, 3, 0, strOff, uint64(len(strtab)), 0, 0, 1, 0)  // .strtab
	sh(23, 3, 0, shstrOff, uint64(len(shstr)), 0, 0, 1, 0) // .shstrtab
	return b.Bytes()
}

// ArFile is one member of an archive ArArchive writes.
type ArFile struct {
	Name string
	Data []byte
}

// ArArchive writes a GNU ar archive: a "/" symbol table of the given
// entries (each naming the index of its member) and a "//" table for names
// longer than 15 bytes.
func ArArchive(files []ArFile, index map[string]int) []byte {
	var long bytes.Buffer
	names := make([]string, len(files))
	for i, f := range files {
		if len(f.Name) > 15 {
			names[i] = fmt.Sprintf("/%d", long.Len())
			long.WriteString(f.Name + "/\n")
		} else {
			names[i] = f.Name + "/"
		}
	}
	header := func(w *bytes.Buffer, name string, size int) {
		fmt.Fprintf(w, "%-16s%-12s%-6s%-6s%-8s%-10d`\n", name, "0", "0", "0", "644", size)
	}
	pad := func(n int) int { return n + n%2 }
	// Offsets: magic, optional index, optional long names, then members.
	var symNames []string
	for n := range index {
		symNames = append(symNames, n)
	}
	sort.Strings(symNames)
	idxSize := 0
	if len(index) > 0 {
		idxSize = 4 + 4*len(symNames)
		for _, n := range symNames {
			idxSize += len(n) + 1
		}
	}
	off := 8
	if idxSize > 0 {
		off += 60 + pad(idxSize)
	}
	if long.Len() > 0 {
		off += 60 + pad(long.Len())
	}
	offs := make([]int, len(files))
	for i, f := range files {
		offs[i] = off
		off += 60 + pad(len(f.Data))
	}
	var w bytes.Buffer
	w.WriteString("!<arch>\n")
	if idxSize > 0 {
		header(&w, "/", idxSize)
		binary.Write(&w, binary.BigEndian, uint32(len(symNames)))
		for _, n := range symNames {
			binary.Write(&w, binary.BigEndian, uint32(offs[index[n]]))
		}
		for _, n := range symNames {
			w.WriteString(n)
			w.WriteByte(0)
		}
		if idxSize%2 == 1 {
			w.WriteByte('\n')
		}
	}
	if long.Len() > 0 {
		header(&w, "//", long.Len())
		w.Write(long.Bytes())
		if long.Len()%2 == 1 {
			w.WriteByte('\n')
		}
	}
	for i, f := range files {
		header(&w, names[i], len(f.Data))
		w.Write(f.Data)
		if len(f.Data)%2 == 1 {
			w.WriteByte('\n')
		}
	}
	return w.Bytes()
}

// FakeLibfstack is a libfstack.a look-alike: ff_dpdk_if.o references
// rte_flow_isolate when built with FF_FLOW_ISOLATE.
func FakeLibfstack(flowIsolate bool) []byte {
	undef := []string{"rte_eal_init", "rte_eth_dev_start"}
	if flowIsolate {
		undef = append(undef, "rte_flow_isolate", "rte_flow_create")
	}
	return ArArchive([]ArFile{
		{"ff_config.o", ELFObject([]string{"ff_load_config"}, []string{"ini_parse"})},
		{"ff_dpdk_if.o", ELFObject([]string{"ff_dpdk_init", "ff_dpdk_run"}, undef)},
		{"ff_glue_with_a_long_name.o", ELFObject([]string{"ff_glue"}, nil)},
	}, map[string]int{"ff_load_config": 0, "ff_dpdk_init": 1, "ff_dpdk_run": 1, "ff_glue": 2})
}
