package netconf

import "strings"

// renameToken maps an interface name to its new name: the name itself, or a
// VLAN ("eth0.100") or alias ("eth0:1") on it. ok is false when tok names
// none of the renamed interfaces.
func renameToken(tok string, renames map[string]string) (string, bool) {
	if n, ok := renames[tok]; ok {
		return n, true
	}
	if i := strings.IndexAny(tok, ".:"); i > 0 {
		if n, ok := renames[tok[:i]]; ok {
			return n + tok[i:], true
		}
	}
	return "", false
}

// field is one whitespace-separated token of a line and where it starts.
type field struct {
	start int
	text  string
}

// fields splits s like strings.Fields and keeps the offsets.
func fields(s string) []field {
	var out []field
	i := 0
	for i < len(s) {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			break
		}
		j := i
		for j < len(s) && !isSpace(s[j]) {
			j++
		}
		out = append(out, field{i, s[i:j]})
		i = j
	}
	return out
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' }

// replaceFields renames the tokens of line at the given field indexes; it
// returns the line unchanged when none is renamed.
func replaceFields(line string, fs []field, idx []int, renames map[string]string) (string, bool) {
	changed := false
	// Replace from the right so earlier offsets stay valid.
	for k := len(idx) - 1; k >= 0; k-- {
		f := fs[idx[k]]
		if n, ok := renameToken(f.text, renames); ok {
			line = line[:f.start] + n + line[f.start+len(f.text):]
			changed = true
		}
	}
	return line, changed
}
