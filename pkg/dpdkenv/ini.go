package dpdkenv

import (
	"bufio"
	"bytes"
	"strings"
)

// iniLookup finds key in [section] of an ini file such as f-stack.conf and
// returns its value with white space trimmed. It is deliberately minimal
// (sections, key=value, ';' and '#' comment lines; no quoting, no
// continuation lines): pkg/fstackconf owns the real parser and the checks of
// the file itself. The first occurrence wins.
func iniLookup(b []byte, section, key string) (string, bool) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	cur := ""
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == ';' || line[0] == '#' {
			continue
		}
		if line[0] == '[' {
			if end := strings.IndexByte(line, ']'); end > 0 {
				cur = strings.TrimSpace(line[1:end])
			}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || cur != section || strings.TrimSpace(k) != key {
			continue
		}
		return strings.TrimSpace(v), true
	}
	return "", false
}
