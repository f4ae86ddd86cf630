package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Spec is everything `photonctl setup` can be asked to do. The yaml tag is the
// config-file key and the flag tag the setup flag; they are the same name
// with "_" for "-". A zero value means "not asked for" unless said otherwise.
type Spec struct {
	// grub: kernel command line.
	IOMMUArgs  []string `yaml:"iommu_args" flag:"iommu-args"`
	PCIRealloc bool     `yaml:"pci_realloc" flag:"pci-realloc"`

	// sriov and mlnx.
	PF           string `yaml:"pf" flag:"pf"`   // interface name or PCI address
	VFs          int    `yaml:"vfs" flag:"vfs"` // -1: leave alone (default)
	VFTrust      bool   `yaml:"vf_trust" flag:"vf-trust"`
	VFSpoofCheck string `yaml:"vf_spoof_check" flag:"vf-spoof-check"` // "", "on", "off"
	VFVLAN       int    `yaml:"vf_vlan" flag:"vf-vlan"`
	VFMAC        bool   `yaml:"vf_mac" flag:"vf-mac"` // stable MACs derived from the PF
	BindVFIO     bool   `yaml:"bind_vfio" flag:"bind-vfio"`
	OFEDDir      string `yaml:"ofed_dir" flag:"ofed-dir"`
	FWReset      bool   `yaml:"fw_reset" flag:"fw-reset"`

	// names: interface names across the reboot.
	Names         string `yaml:"names" flag:"names"` // keep|scripts|none; "" = keep where names would change
	ApplyNamesNow bool   `yaml:"apply_names_now" flag:"apply-names-now"`

	// hugepages.
	Hugepages    int    `yaml:"hugepages" flag:"hugepages"` // -1: leave alone (default)
	HugepageSize string `yaml:"hugepage_size" flag:"hugepage-size"`
	NUMANode     string `yaml:"numa_node" flag:"numa-node"` // "all" or a node number

	// fstack: /etc/f-stack.conf. Fstack asks for the step (LowLatency and
	// IPv6 shape the file and ask for it too).
	Fstack        bool   `yaml:"fstack" flag:"fstack"`
	FstackConf    string `yaml:"fstack_conf" flag:"fstack-conf"`
	FstackVersion string `yaml:"fstack_version" flag:"fstack-version"`
	LowLatency    bool   `yaml:"low_latency" flag:"low-latency"`
	IPv6          bool   `yaml:"ipv6" flag:"ipv6"`
	// FstackAddr gives F-Stack an IPv4 address of its own (CIDR,
	// 10.0.3.20/24) for [port0] instead of the PF's: for a VF on vfio-pci
	// beside a PF that keeps its kernel address. FstackGateway is [port0]'s
	// gateway then (default: the PF's default route's, when inside the
	// prefix).
	FstackAddr    string `yaml:"fstack_addr" flag:"fstack-addr"`
	FstackGateway string `yaml:"fstack_gateway" flag:"fstack-gateway"`
}

// Default is the spec with nothing asked for.
func Default() Spec {
	return Spec{
		VFs:          -1,
		Hugepages:    -1,
		HugepageSize: "2M",
		NUMANode:     "all",
		FstackConf:   "/etc/f-stack.conf",
	}
}

// Error is a spec that cannot be used: bad input (exit code 2).
type Error struct {
	Field string // yaml key
	Msg   string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return fmt.Sprintf("%s: %s", e.Field, e.Msg)
}

// ErrInvalid matches every *Error with errors.Is.
var ErrInvalid = errors.New("invalid host spec")

func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Parse reads a YAML spec over Default(). Unknown keys are an error naming the
// key and its line.
func Parse(r io.Reader) (Spec, error) {
	s := Default()
	b, err := io.ReadAll(r)
	if err != nil {
		return s, err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return s, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return s, typeError(b, te)
		}
		return s, &Error{Msg: "config: " + tidyYAMLError(err)}
	}
	var extra any
	if err := dec.Decode(&extra); err != io.EOF {
		return s, &Error{Msg: "config: want one YAML document, found more"}
	}
	return s, s.Validate()
}

var yamlFieldRe = regexp.MustCompile(`line (\d+): field (\S+) not found in type spec.Spec`)

func tidyYAMLError(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.ReplaceAll(msg, "unmarshal errors:\n  ", "")
	if m := yamlFieldRe.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("line %s: unknown key %q; the keys are: %s", m[1], m[2], strings.Join(Keys(), ", "))
	}
	return msg
}

var yamlTypeRe = regexp.MustCompile("^line (\\d+): cannot unmarshal !!(\\w+)(?: `(.*)`)? into (.+)$")

// typeError names the key of every value of the wrong type ("vfs: four"):
// yaml.v3 gives only the line and the Go type.
func typeError(doc []byte, te *yaml.TypeError) error {
	type pair struct {
		line int
		key  string
	}
	var pairs []pair
	var root yaml.Node
	if yaml.Unmarshal(doc, &root) == nil && len(root.Content) == 1 && root.Content[0].Kind == yaml.MappingNode {
		m := root.Content[0].Content
		for i := 0; i+1 < len(m); i += 2 {
			pairs = append(pairs, pair{m[i].Line, m[i].Value})
		}
	}
	var msgs []string
	for _, e := range te.Errors {
		sm := yamlTypeRe.FindStringSubmatch(e)
		if sm == nil {
			msgs = append(msgs, tidyYAMLError(errors.New(e)))
			continue
		}
		n, _ := strconv.Atoi(sm[1])
		key := "?"
		for _, p := range pairs {
			if p.line <= n {
				key = p.key
			}
		}
		what := fmt.Sprintf("%q", sm[3])
		switch {
		case sm[2] == "seq":
			what = "a list"
		case sm[2] == "map":
			what = "a mapping"
		}
		msgs = append(msgs, fmt.Sprintf("line %d: key %s: %s is not %s", n, key, what, goTypeWords(sm[4])))
	}
	return &Error{Msg: "config: " + strings.Join(msgs, "; ")}
}

// goTypeWords says a Go type of the spec in words.
func goTypeWords(t string) string {
	switch t {
	case "int":
		return "a whole number"
	case "bool":
		return "true or false"
	case "string":
		return "a string"
	case "[]string":
		return "a list of strings (- item per line, or [a, b])"
	}
	return "a " + t
}

var pciRe = regexp.MustCompile(`^([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$`)

// IsPCIAddress reports whether s looks like a PCI address (0000:03:00.0 or 03:00.0).
func IsPCIAddress(s string) bool { return pciRe.MatchString(s) }

var ifnameRe = regexp.MustCompile(`^[^/\s:]{1,15}$`)

// Validate checks values that are wrong whatever the host is.
func (s Spec) Validate() error {
	if s.VFs < -1 || s.VFs > 4096 {
		return &Error{"vfs", fmt.Sprintf("%d is not a VF count; give 0 to %d", s.VFs, 4096)}
	}
	if s.Hugepages < -1 {
		return &Error{"hugepages", fmt.Sprintf("%d is not a page count; give 0 or more", s.Hugepages)}
	}
	if s.Hugepages > 1<<24 {
		return &Error{"hugepages", fmt.Sprintf("%d pages is absurd; give the number of pages, not bytes", s.Hugepages)}
	}
	if _, err := HugepageKB(s.HugepageSize); err != nil {
		return &Error{"hugepage_size", err.Error()}
	}
	if s.NUMANode != "all" {
		if n, err := strconv.Atoi(s.NUMANode); err != nil || n < 0 || n > 1023 {
			return &Error{"numa_node", fmt.Sprintf("%q is not a NUMA node; give a node number or all", s.NUMANode)}
		}
	}
	switch s.Names {
	case "", "keep", "scripts", "none":
	default:
		return &Error{"names", fmt.Sprintf("%q is not a naming mode; give keep, scripts or none", s.Names)}
	}
	switch s.VFSpoofCheck {
	case "", "on", "off":
	default:
		return &Error{"vf_spoof_check", fmt.Sprintf("%q: give on or off", s.VFSpoofCheck)}
	}
	if s.VFVLAN < 0 || s.VFVLAN > 4094 {
		return &Error{"vf_vlan", fmt.Sprintf("%d is not a VLAN ID; give 1 to 4094, or 0 for none", s.VFVLAN)}
	}
	if s.PF != "" && !IsPCIAddress(s.PF) && !ifnameRe.MatchString(s.PF) {
		return &Error{"pf", fmt.Sprintf("%q is neither an interface name nor a PCI address such as 0000:03:00.0", s.PF)}
	}
	for _, a := range s.IOMMUArgs {
		if a == "" || strings.ContainsAny(a, " \t\n\"'$`\\") {
			return &Error{"iommu_args", fmt.Sprintf("%q is not one kernel argument", a)}
		}
	}
	if s.FstackConf == "" || !strings.HasPrefix(s.FstackConf, "/") {
		return &Error{"fstack_conf", fmt.Sprintf("%q: give an absolute path such as /etc/f-stack.conf", s.FstackConf)}
	}
	if s.FstackVersion != "" && !regexp.MustCompile(`^1\.\d+$`).MatchString(s.FstackVersion) {
		return &Error{"fstack_version", fmt.Sprintf("%q: give a version such as 1.24", s.FstackVersion)}
	}
	return s.validateFstackAddr()
}

// validateFstackAddr checks fstack_addr and fstack_gateway: an IPv4 host
// address with its prefix that is neither the network's nor its broadcast
// address, and a gateway inside that prefix other than the address.
func (s Spec) validateFstackAddr() error {
	if s.FstackAddr == "" {
		if s.FstackGateway != "" {
			return &Error{"fstack_gateway", fmt.Sprintf("%q without fstack_addr: the gateway is for F-Stack's own address; give --fstack-addr ADDR/LEN too, or leave both out and [port0] takes the PF's address and gateway", s.FstackGateway)}
		}
		return nil
	}
	pfx, err := netip.ParsePrefix(s.FstackAddr)
	if err != nil || !pfx.Addr().Is4() {
		return &Error{"fstack_addr", fmt.Sprintf("%q is not an IPv4 address with its prefix length; give one such as 10.0.3.20/24", s.FstackAddr)}
	}
	if pfx.Bits() > 30 || pfx.Bits() < 1 {
		return &Error{"fstack_addr", fmt.Sprintf("%s: a /%d leaves no network with a broadcast address and a gateway beside F-Stack's address, which [port0] needs; give the prefix of the PF's network, /1 to /30", s.FstackAddr, pfx.Bits())}
	}
	netw, bcast := pfx.Masked().Addr(), Broadcast4(pfx)
	switch pfx.Addr() {
	case netw:
		return &Error{"fstack_addr", fmt.Sprintf("%s is the network address of %s, not a host's; give a free address inside it, such as %s/%d", s.FstackAddr, pfx.Masked(), netw.Next(), pfx.Bits())}
	case bcast:
		return &Error{"fstack_addr", fmt.Sprintf("%s is the broadcast address of %s, not a host's; give a free address inside it", s.FstackAddr, pfx.Masked())}
	}
	if s.FstackGateway == "" {
		return nil
	}
	gw, err := netip.ParseAddr(s.FstackGateway)
	if err != nil || !gw.Is4() {
		return &Error{"fstack_gateway", fmt.Sprintf("%q is not an IPv4 address; give the router of %s, such as %s", s.FstackGateway, pfx.Masked(), netw.Next())}
	}
	switch {
	case !pfx.Contains(gw) || gw == netw || gw == bcast:
		return &Error{"fstack_gateway", fmt.Sprintf("%s is not a host address inside fstack_addr's network %s: F-Stack reaches its gateway directly, so give the router on %s", gw, pfx.Masked(), pfx.Masked())}
	case gw == pfx.Addr():
		return &Error{"fstack_gateway", fmt.Sprintf("%s is fstack_addr's own address: give the network's router", gw)}
	}
	return nil
}

// Broadcast4 is the broadcast address of an IPv4 prefix.
func Broadcast4(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	for i := range a {
		bits := p.Bits() - 8*i
		switch {
		case bits <= 0:
			a[i] = 0xff
		case bits < 8:
			a[i] |= 0xff >> bits
		}
	}
	return netip.AddrFrom4(a)
}

// HugepageKB turns "2M", "1G", "2048kB" into kB.
func HugepageKB(size string) (int, error) {
	switch strings.ToUpper(strings.TrimSpace(size)) {
	case "2M", "2MB", "2048K", "2048KB":
		return 2048, nil
	case "1G", "1GB", "1048576K", "1048576KB":
		return 1048576, nil
	}
	return 0, fmt.Errorf("%q is not a hugepage size; give 2M or 1G", size)
}
