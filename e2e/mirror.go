package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// DebianMirror returns the URI of the Debian archive this machine's apt
// already uses for the given suite (its base suite, such as bookworm, also
// counts for bookworm-updates entries), read from /etc/apt/sources.list and
// sources.list.d under root. The guest is built from the same archive, so
// the suite needs no mirror name of its own.
func DebianMirror(root, suite string) (string, error) {
	files := []string{filepath.Join(root, "etc/apt/sources.list")}
	more, _ := filepath.Glob(filepath.Join(root, "etc/apt/sources.list.d/*"))
	files = append(files, more...)
	for _, f := range files {
		if !strings.HasSuffix(f, ".list") && !strings.HasSuffix(f, ".sources") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var entries []AptEntry
		if strings.HasSuffix(f, ".sources") {
			entries = ParseDeb822(bytes.NewReader(b))
		} else {
			entries = ParseSourcesList(bytes.NewReader(b))
		}
		for _, e := range entries {
			if e.HasSuite(suite) && e.HasComponent("main") {
				return e.URIs[0], nil
			}
		}
	}
	return "", fmt.Errorf("no apt source for Debian %s main under %s (looked in etc/apt/sources.list and sources.list.d): add one, or set E2E_MIRROR", suite, root)
}

// AptEntry is one binary-package source.
type AptEntry struct {
	URIs       []string
	Suites     []string
	Components []string
}

// HasSuite reports whether the entry serves suite.
func (e AptEntry) HasSuite(suite string) bool {
	for _, s := range e.Suites {
		if s == suite {
			return true
		}
	}
	return false
}

// HasComponent reports whether the entry has component c.
func (e AptEntry) HasComponent(c string) bool {
	for _, s := range e.Components {
		if s == c {
			return true
		}
	}
	return false
}

// ParseSourcesList reads one-line-style entries ("deb [opts] URI suite
// comp..."); deb-src lines, comments and malformed lines are skipped.
func ParseSourcesList(r io.Reader) []AptEntry {
	var out []AptEntry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "deb" {
			continue
		}
		f = f[1:]
		if len(f) > 0 && strings.HasPrefix(f[0], "[") {
			// options: up to the field that ends with "]"
			for len(f) > 0 {
				done := strings.HasSuffix(f[0], "]")
				f = f[1:]
				if done {
					break
				}
			}
		}
		if len(f) < 3 || !isURI(f[0]) {
			continue
		}
		out = append(out, AptEntry{URIs: []string{f[0]}, Suites: []string{f[1]}, Components: f[2:]})
	}
	return out
}

// ParseDeb822 reads deb822-style stanzas (Types:, URIs:, Suites:,
// Components:); stanzas without "deb" in Types, disabled ones (Enabled: no)
// and ones without URIs, Suites or Components are skipped.
func ParseDeb822(r io.Reader) []AptEntry {
	var out []AptEntry
	fields := map[string]string{}
	flush := func() {
		defer func() { fields = map[string]string{} }()
		if !contains(strings.Fields(fields["types"]), "deb") || strings.EqualFold(strings.TrimSpace(fields["enabled"]), "no") {
			return
		}
		var uris []string
		for _, u := range strings.Fields(fields["uris"]) {
			if isURI(u) {
				uris = append(uris, u)
			}
		}
		e := AptEntry{URIs: uris, Suites: strings.Fields(fields["suites"]), Components: strings.Fields(fields["components"])}
		if len(e.URIs) == 0 || len(e.Suites) == 0 || len(e.Components) == 0 {
			return
		}
		out = append(out, e)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	last := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "":
			flush()
			last = ""
		case strings.HasPrefix(line, "#"):
		case line[0] == ' ' || line[0] == '\t':
			if last != "" {
				fields[last] += " " + strings.TrimSpace(line)
			}
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				last = ""
				continue
			}
			last = strings.ToLower(strings.TrimSpace(k))
			fields[last] = strings.TrimSpace(v)
		}
	}
	flush()
	return out
}

func isURI(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "file:/")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
