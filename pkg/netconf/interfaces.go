package netconf

import "strings"

// interfacesNames are the stanzas and options of /etc/network/interfaces
// whose arguments are interface names: for a stanza every argument after the
// keyword (iface: only the first), for an option all its arguments.
var (
	interfacesStanzas = map[string]bool{"auto": true, "allow-auto": true, "allow-hotplug": true, "iface": true, "mapping": true}
	interfacesOptions = map[string]bool{
		"bond-slaves": true, "bond_slaves": true, "bond-primary": true, "bond_primary": true,
		"bridge_ports": true, "bridge-ports": true, "vlan-raw-device": true, "vlan_raw_device": true,
	}
)

// interfacesNameFields gives the indexes of the fields of a line that are
// interface names.
func interfacesNameFields(fs []field) []int {
	if len(fs) == 0 || strings.HasPrefix(fs[0].text, "#") {
		return nil
	}
	kw := fs[0].text
	var idx []int
	switch {
	case kw == "iface" || kw == "mapping":
		if len(fs) > 1 {
			idx = append(idx, 1)
		}
	case interfacesStanzas[kw] || strings.HasPrefix(kw, "allow-") || interfacesOptions[kw]:
		for k := 1; k < len(fs); k++ {
			if strings.HasPrefix(fs[k].text, "#") {
				break
			}
			if fs[k].text == "none" || fs[k].text == "all" {
				continue
			}
			idx = append(idx, k)
		}
	}
	return idx
}

func interfacesRefs(data []byte) []Ref {
	var refs []Ref
	seen := map[string]bool{}
	for _, line := range splitLines(data) {
		fs := fields(line)
		if len(fs) == 0 {
			continue
		}
		for _, k := range interfacesNameFields(fs) {
			n := fs[k].text
			if !seen[n] {
				seen[n] = true
				refs = append(refs, Ref{Name: n})
			}
		}
	}
	return refs
}

func rewriteInterfaces(data []byte, renames map[string]string) (Edit, error) {
	lines := splitLines(data)
	var e Edit
	for i, line := range lines {
		fs := fields(line)
		if nl, ok := replaceFields(line, fs, interfacesNameFields(fs), renames); ok {
			e.Lines = append(e.Lines, LineChange{Line: i + 1, Before: line, After: nl})
			lines[i] = nl
		}
	}
	e.Data = joinLines(lines)
	return e, nil
}
