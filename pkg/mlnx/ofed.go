package mlnx

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// ErrNoOFEDVersion is ofed_info -s output without a version.
var ErrNoOFEDVersion = errors.New("no OFED version in the ofed_info -s output")

// OFEDVersion is what `ofed_info -s` prints: "MLNX_OFED_LINUX-5.4-3.6.8.1:".
type OFEDVersion struct {
	Name    string // "MLNX_OFED_LINUX", "OFED-internal"
	Version string // "5.4-3.6.8.1"
}

func (v OFEDVersion) String() string { return v.Name + "-" + v.Version }

var ofedRe = regexp.MustCompile(`^([A-Za-z][A-Za-z_-]*?)-(\d[0-9A-Za-z.\-]*?):?$`)

// ParseOFEDInfo reads `ofed_info -s`: the first line that looks like
// NAME-VERSION: (older releases leave out the colon).
func ParseOFEDInfo(b []byte) (OFEDVersion, error) {
	for _, line := range strings.Split(string(bytes.TrimSpace(b)), "\n") {
		if m := ofedRe.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			return OFEDVersion{Name: m[1], Version: m[2]}, nil
		}
	}
	return OFEDVersion{}, fmt.Errorf("%w: %q", ErrNoOFEDVersion, firstLine(b))
}

var ofedDirRe = regexp.MustCompile(`MLNX_OFED_LINUX-(\d+\.\d+-[0-9.]+)`)

// OFEDDirVersion reads the version from an unpacked MLNX_OFED folder name
// (MLNX_OFED_LINUX-5.4-3.6.8.1-rhel7.2-x86_64); "" when it has none.
func OFEDDirVersion(dir string) string {
	i := strings.LastIndexByte(strings.TrimRight(dir, "/"), '/')
	base := strings.TrimRight(dir, "/")[i+1:]
	if m := ofedDirRe.FindStringSubmatch(base); m != nil {
		return strings.TrimSuffix(m[1], ".")
	}
	return ""
}

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
