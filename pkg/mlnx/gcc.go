package mlnx

import (
	"errors"
	"regexp"
	"strings"
)

// ErrNoGCCVersion is text without a gcc version.
var ErrNoGCCVersion = errors.New("no gcc version found")

var verRe = regexp.MustCompile(`\b(\d+\.\d+(\.\d+)?)\b`)

// stripParens drops every parenthesised part, nested ones too.
func stripParens(s string) string {
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '(':
			depth++
		case r == ')':
			if depth > 0 {
				depth--
			}
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// ParseGCCVersion reads the version from the first line of `gcc --version`:
// "gcc (GCC) 4.8.5 20150623 (Red Hat 4.8.5-44)" -> 4.8.5,
// "gcc (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0" -> 11.4.0.
func ParseGCCVersion(b []byte) (string, error) {
	line := firstLine(b)
	if m := verRe.FindStringSubmatch(stripParens(line)); m != nil {
		return m[1], nil
	}
	return "", ErrNoGCCVersion
}

// ParseKernelGCC reads the gcc that built the running kernel from
// /proc/version: "(gcc version 4.8.5 20150623 (Red Hat 4.8.5-44) (GCC) )" on
// older kernels, "(gcc (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0, GNU ld ...)" on
// newer ones. A kernel built with clang has no gcc version: ErrNoGCCVersion.
func ParseKernelGCC(b []byte) (string, error) {
	s := string(b)
	if i := strings.Index(s, "gcc version "); i >= 0 {
		if m := verRe.FindStringSubmatch(s[i+len("gcc version "):]); m != nil {
			return m[1], nil
		}
	}
	i := strings.Index(s, "(gcc ")
	if i < 0 {
		return "", ErrNoGCCVersion
	}
	// The group that opens at "(gcc " up to its closing parenthesis.
	depth, end := 0, len(s)
	for j := i; j < len(s); j++ {
		if s[j] == '(' {
			depth++
		} else if s[j] == ')' {
			depth--
			if depth == 0 {
				end = j
				break
			}
		}
	}
	inner := s[i+1 : end]
	if k := strings.IndexByte(inner, ','); k >= 0 {
		inner = inner[:k]
	}
	if m := verRe.FindStringSubmatch(stripParens(inner)); m != nil {
		return m[1], nil
	}
	return "", ErrNoGCCVersion
}

// SameGCC reports whether two gcc versions match as far as building kernel
// modules cares: the same major and minor (and patch where both have one).
func SameGCC(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	n := min(len(pa), len(pb))
	for i := 0; i < n; i++ {
		if pa[i] != pb[i] {
			return false
		}
	}
	return n >= 2
}
