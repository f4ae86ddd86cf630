package netconf

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// netplanDoc is what netplan configuration says about interface names.
type netplanDoc struct {
	refs []Ref
	// names are the scalars that hold an interface name, for rewriting:
	// ethernet IDs without a match (the ID is the name), match.name,
	// set-name, and the references to renamed IDs (bond and bridge
	// interfaces, vlan link).
	names []*yaml.Node
	// ids maps an ethernet ID that is an interface name to its node.
	ids map[string]*yaml.Node
	// uses are bonds/bridges interfaces items and vlans links: IDs.
	uses []*yaml.Node
	// globs are match.name values with wildcards.
	globs []*yaml.Node
}

func mapGet(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func parseNetplan(data []byte) (*netplanDoc, error) {
	d := &netplanDoc{ids: map[string]*yaml.Node{}}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var root yaml.Node
		err := dec.Decode(&root)
		if err != nil {
			if err.Error() == "EOF" {
				break
			}
			return nil, fmt.Errorf("not valid YAML: %v", err)
		}
		if len(root.Content) == 0 {
			continue
		}
		network := mapGet(root.Content[0], "network")
		if network == nil {
			continue
		}
		d.add(network)
	}
	return d, nil
}

func (d *netplanDoc) add(network *yaml.Node) {
	for _, sec := range []string{"ethernets", "wifis"} {
		m := mapGet(network, sec)
		if m == nil || m.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			id, v := m.Content[i], m.Content[i+1]
			match := mapGet(v, "match")
			var r Ref
			if match == nil {
				r.Name = id.Value
				d.names = append(d.names, id)
				d.ids[id.Value] = id
			} else {
				if n := mapGet(match, "name"); n != nil && n.Kind == yaml.ScalarNode {
					if strings.ContainsAny(n.Value, "*?[") {
						d.globs = append(d.globs, n)
					} else {
						r.Name = n.Value
						d.names = append(d.names, n)
					}
				}
				if mac := mapGet(match, "macaddress"); mac != nil && mac.Kind == yaml.ScalarNode {
					r.MAC = strings.ToLower(mac.Value)
				}
			}
			if sn := mapGet(v, "set-name"); sn != nil && sn.Kind == yaml.ScalarNode {
				r.Name = sn.Value
				r.Renames = r.MAC != ""
				d.names = append(d.names, sn)
			}
			if r.Name != "" || r.MAC != "" {
				d.refs = append(d.refs, r)
			}
		}
	}
	for _, sec := range []string{"bonds", "bridges", "vlans", "tunnels", "vrfs"} {
		m := mapGet(network, sec)
		if m == nil || m.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			d.refs = append(d.refs, Ref{Name: m.Content[i].Value})
			v := m.Content[i+1]
			if ifs := mapGet(v, "interfaces"); ifs != nil && ifs.Kind == yaml.SequenceNode {
				for _, it := range ifs.Content {
					if it.Kind == yaml.ScalarNode {
						d.uses = append(d.uses, it)
					}
				}
			}
			if l := mapGet(v, "link"); l != nil && l.Kind == yaml.ScalarNode {
				d.uses = append(d.uses, l)
			}
		}
	}
}

func netplanRefs(data []byte) ([]Ref, error) {
	d, err := parseNetplan(data)
	if err != nil {
		return nil, err
	}
	return d.refs, nil
}

// rewriteNetplan renames interface names in place in the text: it finds the
// scalars with yaml.v3 and replaces exactly those characters, so comments,
// layout and key order stay as they are.
func rewriteNetplan(data []byte, renames map[string]string) (Edit, error) {
	d, err := parseNetplan(data)
	if err != nil {
		return Edit{}, err
	}
	for _, g := range d.globs {
		for old := range renames {
			if ok, _ := pathMatch(g.Value, old); ok {
				return Edit{}, fmt.Errorf("%w: line %d matches interfaces by the pattern %q, which %s matches now; rewrite it by hand or use --names keep",
					ErrCannotRewrite, g.Line, g.Value, old)
			}
		}
	}
	type sub struct {
		n   *yaml.Node
		new string
	}
	var subs []sub
	seen := map[*yaml.Node]bool{}
	for _, n := range d.names {
		if nn, ok := renameToken(n.Value, renames); ok && !seen[n] {
			seen[n] = true
			subs = append(subs, sub{n, nn})
		}
	}
	// A renamed ID is referred to by bonds, bridges and vlans: follow it.
	for _, u := range d.uses {
		if _, isID := d.ids[u.Value]; !isID {
			continue
		}
		if nn, ok := renameToken(u.Value, renames); ok && !seen[u] {
			seen[u] = true
			subs = append(subs, sub{u, nn})
		}
	}
	lines := splitLines(data)
	sort.Slice(subs, func(i, j int) bool {
		if subs[i].n.Line != subs[j].n.Line {
			return subs[i].n.Line < subs[j].n.Line
		}
		return subs[i].n.Column > subs[j].n.Column
	})
	var e Edit
	before := map[int]string{}
	for _, s := range subs {
		li := s.n.Line - 1
		if li < 0 || li >= len(lines) {
			return Edit{}, fmt.Errorf("%w: %q: no line %d", ErrCannotRewrite, s.n.Value, s.n.Line)
		}
		line := lines[li]
		off := runeOffset(line, s.n.Column-1)
		if s.n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
			off++
		}
		if off < 0 || off > len(line) || !strings.HasPrefix(line[off:], s.n.Value) {
			return Edit{}, fmt.Errorf("%w: line %d: %q is not written as a plain word there; rewrite it by hand", ErrCannotRewrite, s.n.Line, s.n.Value)
		}
		if _, ok := before[li]; !ok {
			before[li] = line
		}
		lines[li] = line[:off] + s.new + line[off+len(s.n.Value):]
	}
	var idx []int
	for li := range before {
		idx = append(idx, li)
	}
	sort.Ints(idx)
	for _, li := range idx {
		e.Lines = append(e.Lines, LineChange{Line: li + 1, Before: before[li], After: lines[li]})
	}
	e.Data = joinLines(lines)
	return e, nil
}

// runeOffset is the byte offset of the n-th rune of s, or -1.
func runeOffset(s string, n int) int {
	if n < 0 {
		return -1
	}
	off := 0
	for i := 0; i < n; i++ {
		if off >= len(s) {
			return -1
		}
		_, size := utf8.DecodeRuneInString(s[off:])
		off += size
	}
	return off
}
