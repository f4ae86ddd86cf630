package grub

import (
	"strings"
)

// BLSOptions returns the tokens of a BootLoaderSpec entry's options line and
// the line's index; -1 when the entry has none.
func BLSOptions(entry []byte) ([]string, int) {
	lines := strings.Split(string(entry), "\n")
	for i, l := range lines {
		f := strings.Fields(l)
		if len(f) > 0 && f[0] == "options" {
			return f[1:], i
		}
	}
	return nil, -1
}

// BLSExpand replaces grubenv references ($kernelopts, $tuned_params) in
// options with their values from env (nil: none known).
func BLSExpand(opts []string, env *Grubenv) []string {
	var out []string
	for _, o := range opts {
		if strings.HasPrefix(o, "$") {
			if env != nil {
				if v, ok := env.Get(strings.Trim(o[1:], "{}")); ok {
					out = append(out, strings.Fields(v)...)
				}
			}
			continue
		}
		out = append(out, o)
	}
	return out
}

// usesKernelopts reports whether the options take $kernelopts (EL8).
func usesKernelopts(opts []string) bool {
	for _, o := range opts {
		if o == "$kernelopts" || o == "${kernelopts}" {
			return true
		}
	}
	return false
}

// EditBLSEntry changes an entry's options line. When the line takes
// $kernelopts, the arguments go there (the caller edits the grubenv) and the
// line only loses literal tokens that would clash with them. The entry is
// returned unchanged, byte for byte, when nothing changes.
func EditBLSEntry(entry []byte, add, remove []string) (out []byte, changed bool) {
	opts, idx := BLSOptions(entry)
	lines := strings.Split(string(entry), "\n")
	var next []string
	if idx < 0 {
		if len(add) == 0 {
			return entry, false
		}
		next = append([]string(nil), add...)
		// Add an options line after the last line with text.
		at := len(lines)
		for at > 0 && strings.TrimSpace(lines[at-1]) == "" {
			at--
		}
		lines = append(lines[:at], append([]string{"options " + strings.Join(next, " ")}, lines[at:]...)...)
		return []byte(strings.Join(lines, "\n")), true
	}
	if usesKernelopts(opts) {
		var keys []string
		for _, a := range add {
			keys = append(keys, Key(a))
		}
		next = ApplyArgs(opts, nil, append(keys, remove...))
	} else {
		// New arguments go before trailing grubenv references
		// ($tuned_params), as grubby puts them.
		lit, vars := opts, []string(nil)
		for len(lit) > 0 && strings.HasPrefix(lit[len(lit)-1], "$") {
			lit, vars = lit[:len(lit)-1], append([]string{lit[len(lit)-1]}, vars...)
		}
		next = append(ApplyArgs(lit, add, remove), vars...)
	}
	if strings.Join(next, " ") == strings.Join(opts, " ") {
		return entry, false
	}
	lines[idx] = "options " + strings.Join(next, " ")
	return []byte(strings.Join(lines, "\n")), true
}
