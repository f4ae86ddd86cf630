// Package fstackconf reads, edits, validates and renders F-Stack's
// configuration file (/etc/f-stack.conf): the fstack step of photonctl setup,
// the `photonctl conf check|render` commands and the fstackconf doctor checks.
//
// The key sets are modelled per F-Stack release, as lib/ff_config.c of each
// tag reads them (keys.go): 1.21 to 1.24 read the PCI allow-list from
// pci_whitelist, 1.25 from allow; 1.25 adds fstack_log_level,
// fstack_log_file_prefix and [rss_check] and drops kni.type. F-Stack's parser
// ignores what it does not know, so Check names every key, section and value
// that release would ignore or misread, with line numbers.
//
// Editing keeps the file as its owner wrote it: File is a list of the input's
// lines, each kept byte for byte; an edit replaces the value span of one line
// (its spacing and inline comment stay) or adds a line, and a file nobody
// edited renders as it was read. gopkg.in/ini.v1 was tried for this and does
// not round-trip: it drops blank lines inside a section and moves an inline
// "; comment" onto a line of its own (see TestIniV1LosesLayout), so here it
// only serves as an independent reader the tests compare Parse's values with.
// The parser follows F-Stack's inih settings (";" or "#" comments at the start
// of a line, " ;" inline comments, "=" or ":" separators, section names such
// as freebsd.boot kept flat) and refuses what inih would silently misread.
//
// Not for: discovering SR-IOV devices beyond the PF's first VF (package
// sriov), reserving hugepages, or running F-Stack.
package fstackconf
