package grub

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/runner"
)

// Host paths this package reads and writes.
const (
	DefaultGrub  = "/etc/default/grub"
	DropinGlob   = "/etc/default/grub.d/*.cfg"
	OSRelease    = "/etc/os-release"
	BLSEntries   = "/boot/loader/entries/*.conf"
	EL8Grubenv   = "/boot/grub2/grubenv"
	ProcCmdline  = "/proc/cmdline"
	ProcCPUInfo  = "/proc/cpuinfo"
	EFIDir       = "/sys/firmware/efi"
	OstreeBooted = "/run/ostree-booted"
	CmdlineVar   = "GRUB_CMDLINE_LINUX"
)

// ErrUnsupported is a host whose boot setup photonctl does not edit.
var ErrUnsupported = errors.New("boot loader setup not supported")

// Kinds of boot setup.
const (
	KindMkconfig = "grub-mkconfig" // /etc/default/grub + a generated grub.cfg
	KindBLS      = "bls"           // BootLoaderSpec entries (EL8, EL9)
	KindOstree   = "rpm-ostree"
)

// OS is what /etc/os-release says.
type OS struct {
	ID, Like, VersionID, PrettyName string
}

// Major is the major version ("8" of "8.9"); 0 when unknown.
func (o OS) Major() int {
	n, _ := strconv.Atoi(strings.SplitN(o.VersionID, ".", 2)[0])
	return n
}

func (o OS) is(ids ...string) bool {
	for _, id := range ids {
		if o.ID == id {
			return true
		}
		for _, l := range strings.Fields(o.Like) {
			if l == id {
				return true
			}
		}
	}
	return false
}

// ReadOS reads /etc/os-release (a shell assignment list).
func ReadOS(h *host.Host) (OS, error) {
	b, err := h.ReadFile(OSRelease)
	if err != nil {
		b2, err2 := h.ReadFile("/usr/lib/os-release")
		if err2 != nil {
			return OS{}, fmt.Errorf("reading %s: %w", OSRelease, err)
		}
		b = b2
	}
	f, err := Parse(b)
	if err != nil {
		return OS{}, fmt.Errorf("%s: %w", OSRelease, err)
	}
	v := f.Vars()
	return OS{ID: v["ID"], Like: v["ID_LIKE"], VersionID: v["VERSION_ID"], PrettyName: v["PRETTY_NAME"]}, nil
}

// Vars evaluates the file's plain assignments in order (those outside
// blocks whose values hold no unknowns).
func (f *File) Vars() map[string]string {
	out := map[string]string{}
	for _, s := range f.Stmts {
		if s.Kind != KindAssign || s.Depth > 0 {
			continue
		}
		var b strings.Builder
		ok := true
		for _, p := range s.Value.Pieces {
			switch p.Kind {
			case PieceChar:
				b.WriteByte(p.Ch)
			case PieceVar:
				b.WriteString(out[p.Name])
			default:
				ok = false
			}
		}
		if ok {
			out[s.Name] = b.String()
		} else {
			delete(out, s.Name)
		}
	}
	return out
}

// Flavour is the boot setup found on a host and how to regenerate it.
type Flavour struct {
	OS   OS
	Kind string
	// Name is what it was, for people: "EL7 UEFI", "EL8 BLS", "Debian".
	Name string
	// GrubCfg is the generated grub.cfg (KindMkconfig).
	GrubCfg string
	// Regen is the command that regenerates the boot configuration
	// (KindMkconfig); nil for the others.
	Regen []string
	// Grubby: the BLS host has grubby.
	Grubby bool
	// Grubenv holds kernelopts on EL8 BLS hosts.
	Grubenv string
	// EditsDefault: /etc/default/grub is edited too.
	EditsDefault bool
	// Dropins: grub-mkconfig also sources /etc/default/grub.d/*.cfg
	// (Debian, Ubuntu).
	Dropins bool
}

func (f *Flavour) String() string {
	switch {
	case f.Regen != nil:
		return fmt.Sprintf("%s (%s)", f.Name, runner.Quote(f.Regen))
	case f.Kind == KindBLS && f.Grubby:
		return f.Name + " (grubby)"
	case f.Kind == KindBLS:
		return f.Name + " (no grubby: entries edited directly)"
	}
	return f.Name
}

// Detect finds the host's boot setup from /etc/os-release, /etc/default/grub
// and the files the boot loader uses. It refuses what it cannot handle,
// naming what it found.
func Detect(h *host.Host, r runner.Runner) (*Flavour, error) {
	if h.Exists(OstreeBooted) {
		o, _ := ReadOS(h)
		return &Flavour{OS: o, Kind: KindOstree, Name: "rpm-ostree"}, nil
	}
	o, err := ReadOS(h)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot tell the distribution: %v", ErrUnsupported, err)
	}
	uefi := h.Exists(EFIDir)
	fw := "BIOS"
	if uefi {
		fw = "UEFI"
	}
	hasDefault := h.Exists(DefaultGrub)
	switch {
	case o.is("rhel", "centos", "fedora", "rocky", "almalinux", "ol"):
		if !hasDefault {
			return nil, missingDefault(o)
		}
		major := o.Major()
		if o.ID == "fedora" {
			major = 9
		}
		if major < 7 {
			return nil, fmt.Errorf("%w: %s (version %q) is older than EL7", ErrUnsupported, osName(o), o.VersionID)
		}
		if major >= 8 && blsEnabled(h) {
			f := &Flavour{OS: o, Kind: KindBLS, Name: fmt.Sprintf("EL%d BLS", major), EditsDefault: true}
			if _, err := r.LookPath("grubby"); err == nil {
				f.Grubby = true
			}
			if major == 8 {
				f.Grubenv = EL8Grubenv
			}
			return f, nil
		}
		cfg := "/boot/grub2/grub.cfg"
		if uefi {
			if cfg, err = efiGrubCfg(h, o); err != nil {
				return nil, err
			}
		}
		return &Flavour{OS: o, Kind: KindMkconfig, Name: fmt.Sprintf("EL%d %s", major, fw), GrubCfg: cfg,
			Regen: []string{"grub2-mkconfig", "-o", cfg}, EditsDefault: true}, nil
	case o.is("debian", "ubuntu"):
		if !hasDefault {
			return nil, missingDefault(o)
		}
		name := "Debian"
		if o.is("ubuntu") {
			name = "Ubuntu"
		}
		f := &Flavour{OS: o, Kind: KindMkconfig, Name: name + " " + fw, GrubCfg: "/boot/grub/grub.cfg", EditsDefault: true, Dropins: true}
		if _, err := r.LookPath("update-grub"); err == nil {
			f.Regen = []string{"update-grub"}
		} else if _, err := r.LookPath("grub-mkconfig"); err == nil {
			f.Regen = []string{"grub-mkconfig", "-o", f.GrubCfg}
		} else {
			return nil, fmt.Errorf("%w: %s has neither update-grub nor grub-mkconfig; install grub2-common (or grub-common)", ErrUnsupported, osName(o))
		}
		return f, nil
	}
	found := osName(o)
	if !hasDefault && h.Exists("/boot/loader/entries") {
		found += " with systemd-boot (no " + DefaultGrub + ")"
	}
	return nil, fmt.Errorf("%w: found %s; photonctl knows EL7-EL9, Fedora, Debian, Ubuntu and rpm-ostree hosts: add the kernel arguments by hand", ErrUnsupported, found)
}

// missingDefault is an EL or Debian host without /etc/default/grub: bad
// input (exit 2), since grub-mkconfig needs the file.
func missingDefault(o OS) error {
	return fmt.Errorf("%w: %w: %s has no %s, which grub-mkconfig reads; restore it (it comes with grub2-tools or grub-common) and run again, or, if this host boots with systemd-boot, add the kernel arguments by hand",
		ErrUnsupported, engine.ErrBadInput, osName(o), DefaultGrub)
}

func osName(o OS) string {
	if o.PrettyName != "" {
		return o.PrettyName
	}
	if o.ID == "" {
		return "an unnamed distribution"
	}
	return strings.TrimSpace(o.ID + " " + o.VersionID)
}

func blsEnabled(h *host.Host) bool {
	srcs, err := readSources(h, false)
	if err != nil {
		return false
	}
	ps, err := parseAll(srcs)
	if err != nil {
		return false
	}
	v := ""
	for _, p := range ps {
		if x, ok := p.file.Vars()["GRUB_ENABLE_BLSCFG"]; ok {
			v = x
		}
	}
	return v == "true"
}

// efiGrubCfg is /boot/efi/EFI/<vendor>/grub.cfg.
func efiGrubCfg(h *host.Host, o OS) (string, error) {
	vendor := map[string]string{"centos": "centos", "rhel": "redhat", "rocky": "rocky", "almalinux": "almalinux", "ol": "redhat", "fedora": "fedora"}[o.ID]
	if vendor != "" && h.Exists("/boot/efi/EFI/"+vendor) {
		return "/boot/efi/EFI/" + vendor + "/grub.cfg", nil
	}
	m, _ := h.Glob("/boot/efi/EFI/*/grub.cfg")
	if len(m) == 1 {
		return m[0], nil
	}
	return "", fmt.Errorf("%w: UEFI %s, but no single /boot/efi/EFI/*/grub.cfg (found %d); is /boot/efi mounted?", ErrUnsupported, osName(o), len(m))
}

// readSources reads /etc/default/grub and, with dropins (Debian's
// grub-mkconfig; EL's grub2-mkconfig reads none), the drop-ins after it, in
// the order grub-mkconfig sources them.
func readSources(h *host.Host, dropins bool) ([]Source, error) {
	b, err := h.ReadFile(DefaultGrub)
	if err != nil {
		return nil, err
	}
	srcs := []Source{{DefaultGrub, b}}
	if !dropins {
		return srcs, nil
	}
	drops, err := h.Glob(DropinGlob)
	if err != nil {
		return nil, err
	}
	for _, d := range drops { // Glob sorts, as the shell does in the C locale
		b, err := h.ReadFile(d)
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, Source{d, b})
	}
	return srcs, nil
}
