package udev

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// RulesPath is the rules file the keep mode writes.
const RulesPath = "/etc/udev/rules.d/85-net-persistent-names.rules"

// ErrBadName marks an interface name the kernel or udev refuse.
var ErrBadName = errors.New("invalid interface name")

// ValidateName checks an interface name as the kernel's dev_valid_name and
// udev do: 1 to 15 bytes, no '/', no white space, not "." or "..". A ':' is
// refused too: it is the alias separator of the old ioctl interface.
func ValidateName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty; give a name such as eth0 or data0", ErrBadName)
	case len(name) > 15:
		return fmt.Errorf("%w: %q is %d bytes; the kernel takes at most 15", ErrBadName, name, len(name))
	case name == "." || name == "..":
		return fmt.Errorf("%w: %q; give a name such as eth0 or data0", ErrBadName, name)
	case strings.ContainsAny(name, "/:"):
		return fmt.Errorf("%w: %q holds '/' or ':'; the kernel refuses both", ErrBadName, name)
	}
	for _, c := range name {
		if c <= ' ' || c == 0x7f || c == '"' || c == '\\' {
			return fmt.Errorf("%w: %q holds a blank, control character, quote or backslash", ErrBadName, name)
		}
	}
	return nil
}

// Pin is one interface a rule names after its MAC.
type Pin struct {
	Name  string
	MAC   string // lower case
	DevID string // "" when the rule does not match on it
	Line  int
	Final bool // NAME:= (later rules cannot change it)
}

// PinFile is the pins of one rules file.
type PinFile struct {
	Path string
	Pins []Pin
}

// NameRule is the rule that gives the interface with this MAC, dev_id and
// ARP type its name, in the form of the Mellanox and Red Hat guides:
//
//	SUBSYSTEM=="net", ACTION=="add", DRIVERS=="?*", ATTR{address}=="00:02:c9:fa:c3:50", ATTR{dev_id}=="0x0", ATTR{type}=="1", KERNEL=="eth*", NAME:="eth0"
//
// KERNEL=="eth*" holds for every NIC on the "add" event: the kernel names
// them ethN before udev renames them. ":=" makes the name final, so later
// rules (80-net-setup-link) cannot change it.
func NameRule(mac net.HardwareAddr, devID string, arpType int, name string) *Rule {
	return &Rule{Pairs: []Pair{
		{Key: "SUBSYSTEM", Op: "==", Value: "net"},
		{Key: "ACTION", Op: "==", Value: "add"},
		{Key: "DRIVERS", Op: "==", Value: "?*"},
		{Key: "ATTR", Attr: "address", Op: "==", Value: strings.ToLower(mac.String())},
		{Key: "ATTR", Attr: "dev_id", Op: "==", Value: devID},
		{Key: "ATTR", Attr: "type", Op: "==", Value: fmt.Sprint(arpType)},
		{Key: "KERNEL", Op: "==", Value: "eth*"},
		{Key: "NAME", Op: ":=", Value: name},
	}}
}

// RenderNames renders the keep mode's rules file for nics: a comment header
// naming each device, then one rule per NIC in the order given. Names are
// validated, and two NICs with one name or one MAC are refused.
func RenderNames(nics []NIC) ([]byte, error) {
	names, macs := map[string]string{}, map[string]string{}
	var b strings.Builder
	b.WriteString("# Written by photonctl setup (names step, --names keep): each line pins an\n")
	b.WriteString("# interface name to its permanent MAC address. NAME:= is final: later rules\n")
	b.WriteString("# cannot rename the interface. After a NIC swap, run photonctl setup --names keep\n")
	b.WriteString("# again (photonctl doctor flags rules whose MAC is on no NIC).\n")
	for _, n := range nics {
		src := "permanent MAC"
		if n.MACSource == "current" {
			src = "current MAC (the kernel reports no permanent one)"
		}
		fmt.Fprintf(&b, "# %s: PCI %s (%s), %s\n", n.Name, orNone(n.PCI), orNone(n.Driver), src)
	}
	for _, n := range nics {
		if err := ValidateName(n.Name); err != nil {
			return nil, err
		}
		mac := strings.ToLower(n.MAC.String())
		if len(n.MAC) == 0 {
			return nil, fmt.Errorf("%s has no MAC address: a rule cannot name it", n.Name)
		}
		if o, ok := names[n.Name]; ok {
			return nil, fmt.Errorf("two rules would name %s (MACs %s and %s)", n.Name, o, mac)
		}
		if o, ok := macs[mac]; ok {
			return nil, fmt.Errorf("%w: %s and %s have the same MAC %s; a rule by MAC cannot tell them apart", ErrNotUnique, o, n.Name, mac)
		}
		names[n.Name], macs[mac] = mac, n.Name
		b.WriteString(NameRule(n.MAC, n.DevID, n.Type, n.Name).String())
		b.WriteByte('\n')
	}
	return []byte(b.String()), nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// Pins lists the rules of f that assign a name (NAME= or NAME:=) to the
// interface with a MAC (ATTR{address}==), in file order.
func Pins(f *File) []Pin {
	var out []Pin
	for _, l := range f.Lines {
		if l.Rule == nil {
			continue
		}
		name, ok := l.Rule.Get("NAME", "", false)
		if !ok || name.Op == "+=" || name.Op == "-=" {
			continue
		}
		mac, ok := l.Rule.Get("ATTR", "address", true)
		if !ok || mac.Op != "==" {
			continue
		}
		p := Pin{Name: name.Value, MAC: strings.ToLower(mac.Value), Line: l.Num, Final: name.Op == ":="}
		if d, ok := l.Rule.Get("ATTR", "dev_id", true); ok {
			p.DevID = d.Value
		}
		out = append(out, p)
	}
	return out
}
