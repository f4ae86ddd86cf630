package netconf

import (
	"path"
	"regexp"
	"strings"
)

// ifcfgVar is one VAR=value line of an ifcfg file.
type ifcfgVar struct {
	key string
	// value is the unquoted value; vstart and vend bound it in the line
	// (inside the quotes, when quoted).
	value        string
	vstart, vend int
}

var ifcfgLineRe = regexp.MustCompile(`^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=`)

// parseIfcfgLine reads a VAR=value line; ok is false for comments, blank
// lines and anything else. Quoted values with escapes or several quoted
// parts are taken as they are written: only a plain or simply quoted value
// can name an interface in a way initscripts read.
func parseIfcfgLine(line string) (ifcfgVar, bool) {
	m := ifcfgLineRe.FindStringSubmatchIndex(line)
	if m == nil {
		return ifcfgVar{}, false
	}
	v := ifcfgVar{key: line[m[2]:m[3]]}
	rest := m[1]
	if rest < len(line) && (line[rest] == '"' || line[rest] == '\'') {
		q := line[rest]
		end := strings.IndexByte(line[rest+1:], q)
		if end < 0 {
			return ifcfgVar{}, false
		}
		v.vstart, v.vend = rest+1, rest+1+end
	} else {
		end := rest
		for end < len(line) && !isSpace(line[end]) && line[end] != '#' && line[end] != ';' {
			end++
		}
		v.vstart, v.vend = rest, end
	}
	v.value = line[v.vstart:v.vend]
	return v, true
}

// ifcfgRenamed are the variables that hold an interface name of this file's
// own interface or of its VLAN parent. MASTER= and BRIDGE= name virtual
// interfaces, which keep their names.
var ifcfgRenamed = map[string]bool{"DEVICE": true, "NAME": true, "PHYSDEV": true}

func ifcfgRefs(p string, data []byte) []Ref {
	var refs []Ref
	dev, mac := "", ""
	for _, line := range splitLines(data) {
		v, ok := parseIfcfgLine(line)
		if !ok {
			continue
		}
		switch v.key {
		case "DEVICE":
			dev = v.value
		case "HWADDR":
			mac = strings.ToLower(v.value)
		}
	}
	if dev == "" {
		// initscripts take the name from the file name when DEVICE is unset.
		dev = strings.TrimPrefix(path.Base(p), "ifcfg-")
	}
	refs = append(refs, Ref{Name: dev, MAC: mac})
	return refs
}

func rewriteIfcfg(p string, data []byte, renames map[string]string) (Edit, error) {
	lines := splitLines(data)
	var e Edit
	for i, line := range lines {
		v, ok := parseIfcfgLine(line)
		if !ok || !ifcfgRenamed[v.key] {
			continue
		}
		n, ok := renameToken(v.value, renames)
		if !ok {
			continue
		}
		nl := line[:v.vstart] + n + line[v.vend:]
		e.Lines = append(e.Lines, LineChange{Line: i + 1, Before: line, After: nl})
		lines[i] = nl
	}
	e.Data = joinLines(lines)
	e.Path = renameFile(p, []string{"ifcfg-"}, renames)
	return e, nil
}

// renameFile renames prefix+old to prefix+new in the base name of p.
func renameFile(p string, prefixes []string, renames map[string]string) string {
	dir, base := path.Split(p)
	for _, pre := range prefixes {
		if !strings.HasPrefix(base, pre) {
			continue
		}
		if n, ok := renameToken(strings.TrimPrefix(base, pre), renames); ok {
			return dir + pre + n
		}
	}
	return p
}

var routePrefixes = []string{"route6-", "route-", "rule6-", "rule-"}

func routeRefs(p string) []Ref {
	base := path.Base(p)
	for _, pre := range routePrefixes {
		if strings.HasPrefix(base, pre) {
			return []Ref{{Name: strings.TrimPrefix(base, pre)}}
		}
	}
	return nil
}

// rewriteRoute renames a route-/rule- file and every whole "dev NAME" token
// pair in it (both "ip route" argument lines and the ADDRESS0= form, which
// names no device, work).
func rewriteRoute(p string, data []byte, renames map[string]string) (Edit, error) {
	lines := splitLines(data)
	var e Edit
	for i, line := range lines {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		fs := fields(line)
		var idx []int
		for k := 1; k < len(fs); k++ {
			if fs[k-1].text == "dev" || fs[k-1].text == "oif" || fs[k-1].text == "iif" {
				idx = append(idx, k)
			}
		}
		if nl, ok := replaceFields(line, fs, idx, renames); ok {
			e.Lines = append(e.Lines, LineChange{Line: i + 1, Before: line, After: nl})
			lines[i] = nl
		}
	}
	e.Data = joinLines(lines)
	e.Path = renameFile(p, routePrefixes, renames)
	return e, nil
}
