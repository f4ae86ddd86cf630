package sriov

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/host"
)

// Candidate reports whether a PF can be given VFs, now or after its firmware
// is changed: an SR-IOV capable PF, or any Mellanox PF (the mlnx step turns
// SR-IOV on in ConnectX firmware).
func (p PF) Candidate() bool { return p.SRIOV() || p.Mellanox() }

// SRIOVState says in a few words what the PF's SR-IOV is.
func (p PF) SRIOVState() string {
	switch {
	case p.TotalVFs < 0:
		return "no SR-IOV (sriov_totalvfs missing)"
	case p.TotalVFs == 0:
		return "SR-IOV off (sriov_totalvfs 0)"
	}
	return fmt.Sprintf("%d of %d VFs", p.NumVFs, p.TotalVFs)
}

// SelectPF picks the PF that --pf names (an interface or a PCI address such
// as 0000:03:00.0 or 03:00.0); without one, the only candidate (see
// Candidate). A name that is no PF, a VF, or a PF that cannot have VFs is bad
// input listing the candidates; several candidates without --pf is bad input
// too. A host with no candidate at all is ErrNoSRIOV.
func SelectPF(pfs []PF, want string) (PF, error) {
	if want == "" {
		var c []PF
		for _, p := range pfs {
			if p.Candidate() {
				c = append(c, p)
			}
		}
		switch len(c) {
		case 1:
			return c[0], nil
		case 0:
			if len(pfs) == 0 {
				return PF{}, fmt.Errorf("%w: this host has no physical network function under /sys/bus/pci/devices", ErrNoSRIOV)
			}
			return PF{}, fmt.Errorf("%w: %s; enable SR-IOV (and VT-d/IOMMU) in the BIOS or the NIC firmware, reboot, and check with photonctl doctor --only sriov",
				ErrNoSRIOV, listPFs("the network functions are", pfs))
		}
		return PF{}, engine.BadInput("%d NICs can have VFs; choose one with --pf IFACE or --pf PCI: %s", len(c), list(c))
	}
	p, err := find(pfs, want)
	if err != nil {
		return PF{}, err
	}
	if !p.Candidate() {
		msg := "SR-IOV is off in the BIOS or the NIC firmware, or the NIC has none"
		return PF{}, engine.BadInput("--pf %s: %s cannot have VFs: %s: %s; %s", want, p, p.SRIOVState(), msg, candidates(pfs))
	}
	return p, nil
}

// SelectPFs is SelectPF, except that without --pf the ports of one card
// (functions of one PCI device, such as a dual-port ConnectX) are taken
// together, as the mlnx step does: each port gets the VFs.
func SelectPFs(pfs []PF, want string) ([]PF, error) {
	if want == "" {
		var c []PF
		for _, p := range pfs {
			if p.Candidate() {
				c = append(c, p)
			}
		}
		if len(c) > 1 && oneCard(c) {
			return c, nil
		}
	}
	p, err := SelectPF(pfs, want)
	if err != nil {
		return nil, err
	}
	return []PF{p}, nil
}

// oneCard reports whether the PFs are functions of one PCI device.
func oneCard(pfs []PF) bool {
	first, err := ParseAddr(pfs[0].Addr)
	if err != nil {
		return false
	}
	for _, p := range pfs[1:] {
		a, err := ParseAddr(p.Addr)
		if err != nil || a.Domain != first.Domain || a.Bus != first.Bus || a.Device != first.Device {
			return false
		}
	}
	return true
}

func find(pfs []PF, want string) (PF, error) {
	if a, err := ParseAddr(want); err == nil {
		addr := a.String()
		for _, p := range pfs {
			if p.Addr == addr {
				return p, nil
			}
			for _, v := range p.VFs {
				if v.Addr == addr {
					return PF{}, engine.BadInput("--pf %s is VF %d of %s, not a physical function; %s", want, v.Index, p, candidates(pfs))
				}
			}
		}
		return PF{}, engine.BadInput("--pf %s: no network function at PCI address %s (check for a typo: lspci -D lists them); %s", want, addr, candidates(pfs))
	}
	for _, p := range pfs {
		for _, n := range p.Netdevs {
			if n.Name == want {
				return p, nil
			}
		}
		for _, v := range p.VFs {
			for _, n := range v.Netdevs {
				if n == want {
					return PF{}, engine.BadInput("--pf %s is VF %d of %s, not a physical function; %s", want, v.Index, p, candidates(pfs))
				}
			}
		}
	}
	return PF{}, &noSuchPF{want: want, candidates: candidates(pfs)}
}

// noSuchPF is a --pf name that is no PCI network function's interface; the
// step, which has the host, says what the name is (see ExplainPF).
type noSuchPF struct {
	want, candidates, what string
}

func (e *noSuchPF) Error() string {
	what := e.what
	if what == "" {
		what = "no PCI network interface of that name (ip -br link lists them)"
	}
	return fmt.Sprintf("--pf %s: %s; %s", e.want, what, e.candidates)
}

func (e *noSuchPF) Is(target error) bool { return target == engine.ErrBadInput }

// ExplainPF fills in what a --pf name that is no PCI network function is on
// h: no interface at all, a virtio-net NIC (no SR-IOV), or a virtual
// interface with no device. Other errors pass through.
func ExplainPF(h *host.Host, err error) error {
	var e *noSuchPF
	if !errors.As(err, &e) {
		return err
	}
	e2 := *e
	e2.what = describeIface(h, e.want)
	return &e2
}

// describeIface says what interface name is, for an error that says why it
// cannot be the PF.
func describeIface(h *host.Host, name string) string {
	dir := "/sys/class/net/" + name
	if !h.Exists(dir) {
		return "no interface of that name (ip -br link lists them)"
	}
	kind := ""
	if b, err := h.ReadFile(dir + "/uevent"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "DEVTYPE="); ok {
				kind = v
			}
		}
	}
	dev, err := filepath.EvalSymlinks(h.Path(dir + "/device"))
	if err != nil {
		if kind == "" {
			kind = "virtual"
		}
		return fmt.Sprintf("%s is a %s interface with no device under it (no %s/device), not a NIC: only a PCI network function with SR-IOV (sriov_totalvfs) can be the PF", name, kind, dir)
	}
	dev = h.Rel(dev)
	base := path.Base(dev)
	if strings.HasPrefix(base, "virtio") {
		pci := path.Base(path.Dir(dev))
		return fmt.Sprintf("%s is a virtio-net interface (%s on PCI %s): the paravirtual NIC of a virtual machine, which has no SR-IOV and so cannot be the PF; "+
			"give the VM an SR-IOV NIC (PCI passthrough) and pass that", name, base, pci)
	}
	drv := linkBase(h, dir+"/device/driver")
	if drv == "" {
		drv = "no driver"
	}
	return fmt.Sprintf("%s is on %s (%s), which is no PCI network function: only a PCI NIC with SR-IOV (sriov_totalvfs) can be the PF", name, dev, drv)
}

func candidates(pfs []PF) string {
	var c []PF
	for _, p := range pfs {
		if p.Candidate() {
			c = append(c, p)
		}
	}
	if len(c) == 0 {
		return "no NIC on this host can have VFs"
	}
	return "the NICs that can have VFs are: " + list(c)
}

func listPFs(title string, pfs []PF) string { return title + ": " + list(pfs) }

func list(pfs []PF) string {
	s := make([]string, len(pfs))
	for i, p := range pfs {
		s[i] = p.String() + " " + p.SRIOVState()
	}
	return strings.Join(s, "; ")
}
