package fstackconf

import (
	"bufio"
	"bytes"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/photonctl/photonctl/pkg/host"
)

// LibDir is where `make install` of F-Stack puts libfstack.a.<version> and
// the libfstack.a link to it.
const LibDir = "/usr/local/lib"

var versionRe = regexp.MustCompile(`(?m)(?:^|[^0-9.])(1\.\d+)(?:\.\d+)?\s*$`)

var (
	notesVersionRe = regexp.MustCompile(`F-Stack v(1\.\d+)`)
	dirVersionRe   = regexp.MustCompile(`(?i)f-stack-v?(1\.\d+)`)
)

// DetectVersion finds the installed F-Stack release: the version in the name
// of the library libfstack.a points to (make install names it
// libfstack.a.1.24), else in $FF_PATH (TreeVersion). F-Stack installs no
// pkg-config file. source says where it was found; ok is false when nothing
// says.
func DetectVersion(h *host.Host, ffPath string) (v Version, source string, ok bool) {
	lib := LibDir + "/libfstack.a"
	if t, err := h.ReadLink(lib); err == nil {
		if v, ok := versionIn(strings.TrimPrefix(path.Base(t), "libfstack.a.")); ok {
			return v, lib + " -> " + t, true
		}
	}
	if m, _ := h.Glob(lib + ".1.*"); len(m) > 0 {
		best := Version{}
		for _, p := range m {
			if v, ok := versionIn(strings.TrimPrefix(path.Base(p), "libfstack.a.")); ok && v.Minor > best.Minor {
				best = v
			}
		}
		if best.Minor > 0 {
			return best, lib + ".*", true
		}
	}
	if ffPath != "" {
		return TreeVersion(h, ffPath)
	}
	return Version{}, "", false
}

// TreeVersion is the F-Stack release of the tree (or install prefix) at
// ffPath, the FF_PATH of a build: the version in the name of the library
// lib/libfstack.a points to (an install prefix), its VERSION file,
// F-STACK_VERSION in lib/Makefile, the newest release RELEASE_NOTES.md
// names, or the folder's name (f-stack-1.22). source says where it was found
// ($FF_PATH/VERSION, ...); ok is false when nothing says.
func TreeVersion(h *host.Host, ffPath string) (v Version, source string, ok bool) {
	if t, err := h.ReadLink(ffPath + "/lib/libfstack.a"); err == nil {
		if v, ok := versionIn(strings.TrimPrefix(path.Base(t), "libfstack.a.")); ok {
			return v, "$FF_PATH/lib/libfstack.a -> " + t, true
		}
	}
	if s, err := h.ReadString(ffPath + "/VERSION"); err == nil {
		if v, ok := versionIn(s); ok {
			return v, "$FF_PATH/VERSION", true
		}
	}
	if b, err := h.ReadFile(ffPath + "/lib/Makefile"); err == nil {
		if m := makefileVersionRe.FindSubmatch(b); m != nil {
			if v, ok := versionIn(string(m[1])); ok {
				return v, "F-STACK_VERSION in $FF_PATH/lib/Makefile", true
			}
		}
	}
	notes := path.Join(ffPath, "RELEASE_NOTES.md")
	if b, err := h.ReadFile(notes); err == nil {
		if m := notesVersionRe.FindSubmatch(b); m != nil {
			if v, ok := versionIn(string(m[1])); ok {
				return v, notes, true
			}
		}
	}
	if m := dirVersionRe.FindStringSubmatch(path.Base(path.Clean(ffPath))); m != nil {
		if v, ok := versionIn(m[1]); ok {
			return v, "FF_PATH " + ffPath, true
		}
	}
	return Version{}, "", false
}

var makefileVersionRe = regexp.MustCompile(`(?m)^F-STACK_VERSION\s*=\s*(\S+)`)

// versionIn is the F-Stack release a version string ends with ("1.24",
// "1.24.0").
func versionIn(s string) (Version, bool) {
	m := versionRe.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return Version{}, false
	}
	v, err := ParseVersion(m[1])
	return v, err == nil
}

// DPDKFor is the DPDK release each F-Stack release is built against.
var DPDKFor = map[string]string{
	"1.22": "20.11",
	"1.23": "21.11",
	"1.24": "22.11",
	"1.25": "23.11",
}

// ForDPDK is the F-Stack release built for DPDK release dpdk ("22.11"), or "".
func ForDPDK(dpdk string) string {
	for f, d := range DPDKFor {
		if d == dpdk {
			return f
		}
	}
	return ""
}

// PCDirs are where libdpdk.pc is looked for when pkg-config does not find
// it (meson installs it under /usr/local/lib64 on CentOS, which pkg-config
// does not search by default).
var PCDirs = []string{
	"/usr/local/lib64/pkgconfig",
	"/usr/local/lib/pkgconfig",
	"/usr/local/lib/x86_64-linux-gnu/pkgconfig",
	"/usr/local/lib/aarch64-linux-gnu/pkgconfig",
	"/usr/lib64/pkgconfig",
	"/usr/lib/pkgconfig",
	"/usr/lib/x86_64-linux-gnu/pkgconfig",
	"/usr/lib/aarch64-linux-gnu/pkgconfig",
	"/usr/share/pkgconfig",
}

// ParsePCVersion returns the Version field of a pkg-config .pc file.
func ParsePCVersion(b []byte) (string, bool) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "Version" {
			v = strings.TrimSpace(v)
			return v, v != ""
		}
	}
	return "", false
}

var majorMinorRe = regexp.MustCompile(`^(\d+)\.(\d+)`)

// InstalledDPDK is the installed DPDK release ("22.11") from the first
// libdpdk.pc in PCDirs, and that file; "" when there is none.
func InstalledDPDK(h *host.Host) (release, pcFile string) {
	for _, d := range PCDirs {
		f := d + "/libdpdk.pc"
		b, err := h.ReadFile(f)
		if err != nil {
			continue
		}
		if v, ok := ParsePCVersion(b); ok {
			if m := majorMinorRe.FindStringSubmatch(v); m != nil {
				return m[1] + "." + m[2], f
			}
		}
	}
	return "", ""
}

// Linked is the F-Stack release linked into this photonctl ("1.24"), ""
// in a build without the fstack engine: cmd/photonctl sets it at start
// from the build's stamp (pkg/dataplane). Where no libfstack is installed
// it is the release a conf is written and checked for, since the engine of
// this very binary is what reads it (issue 17: a host with DPDK's runtime
// and photonctl built with F-Stack, no F-Stack tree).
var Linked string

// How a version was resolved.
const (
	FromFlag      = "flag"      // --fstack-version
	FromInstalled = "installed" // libfstack, $FF_PATH
	FromLinked    = "linked"    // the F-Stack linked into this photonctl
	FromConf      = "conf"      // the allow-list key an existing f-stack.conf uses
	FromDPDK      = "dpdk"      // the F-Stack built for the installed DPDK
)

// VersionQuery is what ResolveVersion looks at.
type VersionQuery struct {
	Asked  string // --fstack-version, "" if not given
	FFPath string // $FF_PATH
	// Conf is the host path of the f-stack.conf in question ("" for none);
	// ConfData, when set, is its content (conf check FILE, read elsewhere).
	Conf     string
	ConfData []byte
}

// Resolved is the F-Stack release a command works for, and why.
type Resolved struct {
	Version Version
	From    string // FromFlag, FromInstalled, FromConf or FromDPDK
	How     string // where it was found, for messages
	Notes   []string
}

// ErrUnknownVersion: nothing says which F-Stack release this host runs.
var ErrUnknownVersion = fmt.Errorf("%w: cannot tell the F-Stack version", ErrVersion)

// ResolveVersion is the one way every command (setup, conf render, conf
// check, lab, doctor) picks the F-Stack release: --fstack-version, else the
// installed libfstack's version (or $FF_PATH's), else the F-Stack linked
// into this photonctl (Linked), else the allow-list key an
// existing f-stack.conf uses (pci_whitelist: 1.24, allow: 1.25), else the
// F-Stack built for the installed DPDK (22.11: 1.24, 23.11: 1.25), else
// ErrUnknownVersion saying how to give it. Errors list the versions
// photonctl knows.
func ResolveVersion(h *host.Host, q VersionQuery) (Resolved, error) {
	found, src, ok := DetectVersion(h, q.FFPath)
	if q.Asked != "" {
		v, err := ParseVersion(q.Asked)
		if err != nil {
			return Resolved{}, err
		}
		r := Resolved{Version: v, From: FromFlag, How: "--fstack-version"}
		if ok && found != v {
			r.Notes = append(r.Notes, "--fstack-version "+v.String()+" given, yet F-Stack "+found.String()+" is installed ("+src+")")
		}
		return r, nil
	}
	linked, linkedOK := Version{}, false
	if Linked != "" {
		linked, linkedOK = versionIn(Linked)
	}
	if ok {
		r := Resolved{Version: found, From: FromInstalled, How: src}
		if linkedOK && linked != found {
			r.Notes = append(r.Notes, fmt.Sprintf("F-Stack %s is installed (%s), while this photonctl has F-Stack %s linked in: its run echo reads the conf as F-Stack %s", found, src, linked, linked))
		}
		return r, nil
	}
	if linkedOK {
		return Resolved{Version: linked, From: FromLinked, How: "the F-Stack linked into this photonctl"}, nil
	}
	data, name := q.ConfData, q.Conf
	if data == nil && q.Conf != "" {
		data, _ = h.ReadFile(q.Conf)
	}
	if data != nil {
		if f, err := ParseBytes(data); err == nil {
			for _, c := range []struct {
				key string
				v   Version
			}{{"allow", Version{25}}, {"pci_whitelist", Version{24}}} {
				if _, has := f.Get("dpdk", c.key); has {
					how := fmt.Sprintf("the %s key of %s", c.key, name)
					return Resolved{Version: c.v, From: FromConf, How: how,
						Notes: []string{fmt.Sprintf("no libfstack installed: F-Stack %s from %s; give --fstack-version to choose", c.v, how)}}, nil
				}
			}
		}
	}
	if d, pc := InstalledDPDK(h); d != "" {
		if fv := ForDPDK(d); fv != "" {
			v, _ := ParseVersion(fv)
			how := fmt.Sprintf("DPDK %s (%s)", d, pc)
			return Resolved{Version: v, From: FromDPDK, How: how,
				Notes: []string{fmt.Sprintf("no libfstack installed: F-Stack %s, the release built for %s; give --fstack-version to choose", v, how)}}, nil
		}
	}
	return Resolved{}, fmt.Errorf("%w: no %s/libfstack.a, no $FF_PATH, no allow-list key in an f-stack.conf and no DPDK release photonctl knows the F-Stack of (no libdpdk.pc); give --fstack-version, one of %s",
		ErrUnknownVersion, LibDir, VersionList())
}

// Resolve is ResolveVersion for the f-stack.conf at host path conf,
// returning the version and the notes.
func Resolve(h *host.Host, ffPath, asked, conf string) (Version, []string, error) {
	r, err := ResolveVersion(h, VersionQuery{Asked: asked, FFPath: ffPath, Conf: conf})
	return r.Version, r.Notes, err
}
