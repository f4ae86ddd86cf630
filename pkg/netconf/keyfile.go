package netconf

import "strings"

// keyfileLine is a key=value line of a keyfile and its section.
type keyfileLine struct {
	section, key, value string
	vstart              int
}

// scanKeyfile calls fn for every key=value line of a NetworkManager keyfile
// (a GLib key file: [section] headers, key=value, # and ; comments).
func scanKeyfile(lines []string, fn func(i int, kl keyfileLine)) {
	section := ""
	for i, line := range lines {
		t := strings.TrimSpace(line)
		switch {
		case t == "" || t[0] == '#' || t[0] == ';':
			continue
		case t[0] == '[' && strings.HasSuffix(t, "]"):
			section = t[1 : len(t)-1]
			continue
		}
		eq := strings.IndexByte(line, '=')
		if eq < 0 {
			continue
		}
		key := strings.TrimSpace(line[:eq])
		vs := eq + 1
		for vs < len(line) && isSpace(line[vs]) {
			vs++
		}
		val := strings.TrimRight(line[vs:], " \t\r")
		fn(i, keyfileLine{section: section, key: key, value: val, vstart: vs})
	}
}

func keyfileRefs(data []byte) []Ref {
	var r Ref
	scanKeyfile(splitLines(data), func(_ int, kl keyfileLine) {
		switch {
		case kl.section == "connection" && kl.key == "interface-name":
			r.Name = kl.value
		case (kl.section == "ethernet" || kl.section == "802-3-ethernet") && kl.key == "mac-address":
			r.MAC = strings.ToLower(kl.value)
		}
	})
	if r.Name == "" && r.MAC == "" {
		return nil
	}
	return []Ref{r}
}

// rewriteKeyfile renames [connection] interface-name= and, for VLANs, [vlan]
// parent= when it is an interface name (it may be a connection UUID).
func rewriteKeyfile(data []byte, renames map[string]string) (Edit, error) {
	lines := splitLines(data)
	var e Edit
	scanKeyfile(lines, func(i int, kl keyfileLine) {
		if !(kl.section == "connection" && kl.key == "interface-name") && !(kl.section == "vlan" && kl.key == "parent") {
			return
		}
		n, ok := renameToken(kl.value, renames)
		if !ok {
			return
		}
		line := lines[i]
		nl := line[:kl.vstart] + n + line[kl.vstart+len(kl.value):]
		e.Lines = append(e.Lines, LineChange{Line: i + 1, Before: line, After: nl})
		lines[i] = nl
	})
	e.Data = joinLines(lines)
	return e, nil
}
