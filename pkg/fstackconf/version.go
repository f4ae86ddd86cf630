package fstackconf

import (
	"path"
	"regexp"
	"strings"

	"github.com/photonctl/photonctl/pkg/host"
)

// LibDir is where `make install` of F-Stack puts libfstack.a.<version> and
// the libfstack.a link to it.
const LibDir = "/usr/local/lib"

var versionRe = regexp.MustCompile(`(?m)(?:^|[^0-9.])(1\.\d+)(?:\.\d+)?\s*$`)

// DetectVersion finds the installed F-Stack release: the version in the name
// of the library libfstack.a points to (make install names it
// libfstack.a.1.24), else $FF_PATH/VERSION, else F-STACK_VERSION in
// $FF_PATH/lib/Makefile. F-Stack installs no pkg-config file. source says
// where it was found; ok is false when nothing says.
func DetectVersion(h *host.Host, ffPath string) (v Version, source string, ok bool) {
	try := func(s, from string) bool {
		m := versionRe.FindStringSubmatch(strings.TrimSpace(s))
		if m == nil {
			return false
		}
		pv, err := ParseVersion(m[1])
		if err != nil {
			return false
		}
		v, source = pv, from
		return true
	}
	lib := LibDir + "/libfstack.a"
	if t, err := h.ReadLink(lib); err == nil && try(strings.TrimPrefix(path.Base(t), "libfstack.a."), lib+" -> "+t) {
		return v, source, true
	}
	if m, _ := h.Glob(lib + ".1.*"); len(m) > 0 {
		best := Version{}
		for _, p := range m {
			if try(strings.TrimPrefix(path.Base(p), "libfstack.a."), p) && v.Minor > best.Minor {
				best = v
			}
		}
		if best.Minor > 0 {
			return best, lib + ".*", true
		}
	}
	if ffPath != "" {
		if s, err := h.ReadString(ffPath + "/VERSION"); err == nil && try(s, "$FF_PATH/VERSION") {
			return v, source, true
		}
		if b, err := h.ReadFile(ffPath + "/lib/Makefile"); err == nil {
			if m := regexp.MustCompile(`(?m)^F-STACK_VERSION\s*=\s*(\S+)`).FindSubmatch(b); m != nil && try(string(m[1]), "F-STACK_VERSION in $FF_PATH/lib/Makefile") {
				return v, source, true
			}
		}
	}
	return Version{}, "", false
}

// Resolve picks the release to write for: --fstack-version when given (with
// a note when the installed one differs), else the installed one, else
// Newest with a note.
func Resolve(h *host.Host, ffPath, asked string) (Version, []string, error) {
	found, src, ok := DetectVersion(h, ffPath)
	if asked != "" {
		v, err := ParseVersion(asked)
		if err != nil {
			return v, nil, err
		}
		if ok && found != v {
			return v, []string{"--fstack-version " + v.String() + " given, yet F-Stack " + found.String() + " is installed (" + src + ")"}, nil
		}
		return v, nil, nil
	}
	if ok {
		return found, nil, nil
	}
	return Newest, []string{"F-Stack version not found (no " + LibDir + "/libfstack.a, no $FF_PATH): writing for " + Newest.String() + "; give --fstack-version to choose"}, nil
}
