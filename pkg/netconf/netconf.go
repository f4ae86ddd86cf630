package netconf

import (
	"errors"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/photonctl/photonctl/pkg/host"
)

// Format is the kind of a network configuration file.
type Format string

const (
	Ifcfg      Format = "ifcfg"       // /etc/sysconfig/network-scripts/ifcfg-*
	IfcfgRoute Format = "ifcfg-route" // route-, route6-, rule-, rule6- beside them
	Keyfile    Format = "keyfile"     // NetworkManager *.nmconnection
	Netplan    Format = "netplan"     // /etc/netplan/*.yaml
	Interfaces Format = "interfaces"  // Debian /etc/network/interfaces
)

// File is one configuration file: its host path, format and content.
type File struct {
	Path   string
	Format Format
	Data   []byte
}

// Edit is the result of rewriting a File.
type Edit struct {
	// Path is where the new content goes: File.Path, or a new name where the
	// file name carries the interface name (ifcfg-eth0 -> ifcfg-enp3s0f0).
	Path string
	Data []byte
	// Lines are the changed lines, before and after, for the plan.
	Lines []LineChange
}

// LineChange is one changed line of a rewrite.
type LineChange struct {
	Line          int
	Before, After string
}

// Changed reports whether the edit changes the file's content or name.
func (e Edit) Changed(f File) bool { return e.Path != f.Path || string(e.Data) != string(f.Data) }

// Ref is an interface a file names, or a MAC address it matches on.
type Ref struct {
	Name string // interface name ("" when the file matches by MAC only)
	MAC  string // lower-case MAC address the file matches on, if any
	// Renames: the file itself names the interface with MAC (netplan's
	// set-name with a macaddress match, which becomes a .link file).
	Renames bool
}

// ErrCannotRewrite marks configuration that names interfaces in a way a
// token edit cannot follow (a netplan glob match, an alias).
var ErrCannotRewrite = errors.New("cannot rewrite this interface reference")

// Globs are the host paths Find reads, by format.
var Globs = []struct {
	Pattern string
	Format  Format
}{
	{"/etc/sysconfig/network-scripts/ifcfg-*", Ifcfg},
	{"/etc/sysconfig/network-scripts/route-*", IfcfgRoute},
	{"/etc/sysconfig/network-scripts/route6-*", IfcfgRoute},
	{"/etc/sysconfig/network-scripts/rule-*", IfcfgRoute},
	{"/etc/sysconfig/network-scripts/rule6-*", IfcfgRoute},
	{"/etc/NetworkManager/system-connections/*.nmconnection", Keyfile},
	{"/etc/netplan/*.yaml", Netplan},
	{"/etc/network/interfaces", Interfaces},
	{"/etc/network/interfaces.d/*", Interfaces},
}

// Find reads every configuration file of the host that Globs names, sorted
// by path. Backup copies (*.bak, *~, *.orig, ifcfg-*.rpmsave) are left out:
// initscripts ignore them too.
func Find(h *host.Host) ([]File, error) {
	var out []File
	for _, g := range Globs {
		m, err := h.Glob(g.Pattern)
		if err != nil {
			return nil, err
		}
		for _, p := range m {
			if ignored(p) {
				continue
			}
			if fi, err := os.Stat(h.Path(p)); err != nil || fi.IsDir() {
				continue
			}
			b, err := h.ReadFile(p)
			if err != nil {
				if host.IsNotExist(err) {
					continue
				}
				return nil, fmt.Errorf("reading %s: %w", p, err)
			}
			out = append(out, File{Path: p, Format: g.Format, Data: b})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func ignored(p string) bool {
	b := path.Base(p)
	for _, s := range []string{".bak", "~", ".orig", ".rpmsave", ".rpmnew", ".dpkg-old", ".dpkg-dist", ".swp"} {
		if strings.HasSuffix(b, s) {
			return true
		}
	}
	return strings.HasPrefix(b, ".")
}

// Refs lists the interfaces f names and the MACs it matches on.
func Refs(f File) ([]Ref, error) {
	switch f.Format {
	case Ifcfg:
		return ifcfgRefs(f.Path, f.Data), nil
	case IfcfgRoute:
		return routeRefs(f.Path), nil
	case Keyfile:
		return keyfileRefs(f.Data), nil
	case Netplan:
		return netplanRefs(f.Data)
	case Interfaces:
		return interfacesRefs(f.Data), nil
	}
	return nil, fmt.Errorf("%s: unknown format %q", f.Path, f.Format)
}

// Rewrite points f at new interface names (renames maps old to new).
func Rewrite(f File, renames map[string]string) (Edit, error) {
	var e Edit
	var err error
	switch f.Format {
	case Ifcfg:
		e, err = rewriteIfcfg(f.Path, f.Data, renames)
	case IfcfgRoute:
		e, err = rewriteRoute(f.Path, f.Data, renames)
	case Keyfile:
		e, err = rewriteKeyfile(f.Data, renames)
	case Netplan:
		e, err = rewriteNetplan(f.Data, renames)
	case Interfaces:
		e, err = rewriteInterfaces(f.Data, renames)
	default:
		return Edit{}, fmt.Errorf("%s: unknown format %q", f.Path, f.Format)
	}
	if err != nil {
		return Edit{}, fmt.Errorf("%s: %w", f.Path, err)
	}
	if e.Path == "" {
		e.Path = f.Path
	}
	return e, nil
}

// splitLines splits b into lines without their "\n"; the last element is
// what follows the last "\n" ("" when b ends with one).
func splitLines(b []byte) []string { return strings.Split(string(b), "\n") }

func joinLines(lines []string) []byte { return []byte(strings.Join(lines, "\n")) }
