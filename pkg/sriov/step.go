package sriov

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/runner"
)

// Step is the sriov setup step: VFs on the chosen PF, their settings, their
// vfio-pci binding, and the unit that makes them again at boot.
type Step struct {
	// WriteTimeout bounds each sysfs write.
	WriteTimeout time.Duration
	// WaitTimeout bounds the wait for the VFs (and their netdevs) to appear.
	WaitTimeout time.Duration
	// Poll is how often the wait looks.
	Poll time.Duration
	// write is host.Host.WriteSysfs; tests wrap it to play the kernel.
	write writeFunc
}

// NewStep returns the sriov step.
func NewStep() *Step {
	return &Step{WriteTimeout: host.DefaultSysfsTimeout, WaitTimeout: time.Minute, Poll: 250 * time.Millisecond, write: sysfsWrite}
}

// mlxMaxVFs is the most VFs ConnectX-4 and later firmware takes (mlnx.MaxVFs).
const mlxMaxVFs = 127

// Name is engine.StepSRIOV.
func (s *Step) Name() string { return engine.StepSRIOV }

// WaitsForReboot is true: VFs need the IOMMU arguments and NIC firmware that
// earlier steps set to be live.
func (s *Step) WaitsForReboot() bool { return true }

// plan is the step's state between Check and Apply.
type plan struct {
	PF       PF
	N        int
	Create   bool
	Blocked  error // the VFs wait for something this step cannot do (firmware)
	Want     VFWant
	PFMAC    net.HardwareAddr
	Set      []vfSetting
	VFIO     bool
	Modprobe bool
	Unit     []byte // nil: no unit wanted
	Write    bool
	Enable   bool
	Remove   bool
	Disable  bool
	// PermMAC is the PF's permanent MAC ("" unknown): the unit follows it.
	PermMAC string
	// Stale are VF units of this card under another name (its earlier
	// PCI slot), disabled and removed so that one unit makes its VFs.
	Stale []string
}

// Check reads the PF and says what Apply would change.
func (s *Step) Check(ctx context.Context, env *engine.Env) (*engine.Plan, error) {
	sp := env.Spec
	want := WantFromSpec(sp)
	if sp.VFs < 0 {
		if want.Any() || sp.BindVFIO {
			return nil, engine.BadInput("--vf-mac, --vf-trust, --vf-spoof-check, --vf-vlan and --bind-vfio act on the VFs " +
				"of --vfs N; give --vfs too (the current count keeps them)")
		}
		return &engine.Plan{Skip: "not asked for (--vfs)"}, nil
	}
	pfs, err := Discover(env.Host)
	if err != nil {
		return nil, err
	}
	sel, err := SelectPFs(pfs, sp.PF)
	err = ExplainPF(env.Host, err)
	if err != nil {
		return nil, err
	}
	top := &engine.Plan{}
	var plans []*plan
	var msgs []string
	for _, pf := range sel {
		ep, err := s.checkOne(env, pf)
		if err != nil {
			return nil, err
		}
		top.Changes = append(top.Changes, ep.Changes...)
		top.Tools = append(top.Tools, ep.Tools...)
		msgs = append(msgs, ep.Message)
		plans = append(plans, ep.Data.(*plan))
		if d := ep.Data.(*plan); d.Blocked != nil && top.Blocked == nil {
			top.Blocked = d.Blocked
		}
	}
	top.Data, top.Message = plans, strings.Join(msgs, "; ")
	return top, nil
}

// checkOne plans the VFs of one PF.
func (s *Step) checkOne(env *engine.Env, pf PF) (*engine.Plan, error) {
	sp := env.Spec
	want := WantFromSpec(sp)
	n := sp.VFs
	d := &plan{PF: pf, N: n, Want: want, VFIO: sp.BindVFIO && n > 0}
	ep := &engine.Plan{Data: d}
	attr := pf.Dir() + "/sriov_numvfs"
	if d.VFIO && isMlx5(pf) {
		return nil, checkVFIO(nil, pf, nil)
	}

	if n > 0 && n > pf.TotalVFs {
		if !pf.Mellanox() {
			if pf.TotalVFs <= 0 {
				return nil, fmt.Errorf("%w: %s: %s: SR-IOV is off in the BIOS or the NIC firmware: enable SR-IOV "+
					"(and VT-d/AMD-Vi) in the BIOS setup, reboot, and run photonctl setup again", ErrNoSRIOV, pf, pf.SRIOVState())
			}
			return nil, engine.BadInput("--vfs %d: %s allows at most %d VFs (sriov_totalvfs); ask for %d or fewer",
				n, pf, pf.TotalVFs, pf.TotalVFs)
		}
		if n > mlxMaxVFs {
			return nil, engine.BadInput("--vfs %d: %s is a ConnectX card, whose firmware allows at most %d VFs per PF (NUM_OF_VFS); ask for %d or fewer",
				n, pf, mlxMaxVFs, mlxMaxVFs)
		}
		what := "SR-IOV is off in its firmware (sriov_totalvfs " + strconv.Itoa(max(pf.TotalVFs, 0)) + ")"
		if pf.TotalVFs > 0 {
			what = fmt.Sprintf("its firmware allows %d VFs (NUM_OF_VFS)", pf.TotalVFs)
		}
		d.Blocked = fmt.Errorf("%w: %s: %s; the mlnx step sets SRIOV_EN=1 NUM_OF_VFS=%d "+
			"(photonctl setup --only mlnx --vfs %d), then reboot and run photonctl setup again", ErrNoSRIOV, pf, what, n, n)
		ep.Changes = []engine.Change{engine.SysfsChange(attr, strconv.Itoa(pf.NumVFs), "0, then "+strconv.Itoa(n))}
		ep.Message = fmt.Sprintf("%s: %s; %d VFs after the mlnx firmware change and a reboot", pf.Iface(), what, n)
		return ep, nil
	}

	d.Create = pf.NumVFs != n || len(pf.VFs) != n
	vfs := pf.VFs
	if d.Create {
		after := "0, then " + strconv.Itoa(n)
		if n == 0 {
			after = "0"
		}
		ep.Changes = append(ep.Changes, engine.SysfsChange(attr, strconv.Itoa(pf.NumVFs), after))
		vfs = nil
		if n > 0 {
			addrs, err := VFAddrs(pf, n)
			if err != nil && d.VFIO {
				return nil, fmt.Errorf("--bind-vfio: cannot name the VFs of %s before they exist: %w", pf, err)
			}
			for i, a := range addrs {
				vfs = append(vfs, VF{Index: i, Addr: a})
			}
		}
	}

	if want.Any() && n > 0 {
		if err := s.planSettings(env, d); err != nil {
			return nil, err
		}
		for _, x := range d.Set {
			ep.Changes = append(ep.Changes, engine.LinkChange(pf.Iface(), fmt.Sprintf("vf %d %s", x.VF, x.What), x.Before, x.After))
		}
	}

	if d.VFIO {
		if err := checkVFIO(env, pf, vfs); err != nil {
			return nil, err
		}
		if !vfioLoaded(env) {
			d.Modprobe = true
			ep.Changes = append(ep.Changes, engine.CommandChange("modprobe", "vfio-pci"))
		}
		for _, v := range vfs {
			if v.Driver != VFIODriver {
				ep.Changes = append(ep.Changes, engine.SysfsChange(PCIDevices+"/"+v.Addr+"/driver", orNone(v.Driver, d.Create), VFIODriver))
			}
		}
	}

	if err := planUnit(env, d, vfs, ep); err != nil {
		return nil, err
	}
	ep.Message = message(pf, n, len(ep.Changes) == 0)
	return ep, nil
}

func orNone(driver string, created bool) string {
	switch {
	case created:
		return "(new VF)"
	case driver == "":
		return "(none)"
	}
	return driver
}

func message(pf PF, n int, done bool) string {
	name := pf.Iface()
	if name == "" {
		name = pf.Addr
	}
	if done {
		return fmt.Sprintf("%s has %d VFs (of %d), as asked", name, n, max(pf.TotalVFs, 0))
	}
	if pf.NumVFs == n && len(pf.VFs) == n {
		return fmt.Sprintf("%s has the %d VFs asked; their settings, binding or boot unit to do", name, n)
	}
	return fmt.Sprintf("%s has %d VFs, %d asked (sriov_totalvfs %d)", name, pf.NumVFs, n, pf.TotalVFs)
}

func (s *Step) planSettings(env *engine.Env, d *plan) error {
	pf := d.PF
	if pf.Iface() == "" {
		return fmt.Errorf("%s has no netdev to set VF attributes through: is its driver (%s) loaded?", pf, orNone(pf.Driver, false))
	}
	mac, err := net.ParseMAC(pf.Netdevs[0].MAC)
	if err != nil && d.Want.MAC {
		return fmt.Errorf("--vf-mac: the MAC of %s (%q in sysfs) is not usable: %w", pf, pf.Netdevs[0].MAC, err)
	}
	d.PFMAC = mac
	var cur []netlink.VfInfo
	missing := "(new VF)"
	if !d.Create {
		missing = "(unknown: netlink does not show the VFs of " + pf.Iface() + ")"
		if nl := env.Netlink(); nl != nil {
			if l, err := nl.LinkByName(pf.Iface()); err == nil {
				cur = l.Attrs().Vfs
			}
		}
	}
	d.Set, err = planVFSettingsLabel(mac, d.N, d.Want, cur, missing)
	return err
}

// unitFor is the persistence unit for the PF's VFs: it follows the card by
// its permanent MAC when that is known.
func unitFor(d *plan, vfs []VF) ([]byte, error) {
	u := Unit{PF: d.PF.Addr, Iface: d.PF.Iface(), VFs: d.N, MAC: d.PermMAC}
	if d.Want.Any() {
		for i := 0; i < d.N; i++ {
			a, err := ipArgs(d.PF.Iface(), d.PFMAC, i, d.Want)
			if err != nil {
				return nil, err
			}
			u.Settings = append(u.Settings, a)
		}
	}
	if d.VFIO {
		for _, v := range vfs {
			u.VFIO = append(u.VFIO, v.Addr)
			u.VFIOIndex = append(u.VFIOIndex, v.Index)
		}
	}
	return u.Render(), nil
}

// permMAC is the PF's permanent MAC, lower case: netlink's IFLA_PERM_ADDRESS
// where netlink is this host's, else the sysfs address when
// addr_assign_type says it is the permanent one (0); "" when unknown.
func permMAC(env *engine.Env, pf PF) string {
	name := pf.Iface()
	if name == "" {
		return ""
	}
	if env.NL != nil || env.Host.IsLive() {
		if nl := env.Netlink(); nl != nil {
			if l, err := nl.LinkByName(name); err == nil && len(l.Attrs().PermHWAddr) == 6 {
				return strings.ToLower(l.Attrs().PermHWAddr.String())
			}
		}
	}
	if t, err := env.Host.ReadString("/sys/class/net/" + name + "/addr_assign_type"); err == nil && t == "0" {
		if m, err := net.ParseMAC(pf.Netdevs[0].MAC); err == nil && len(m) == 6 {
			return strings.ToLower(m.String())
		}
	}
	return ""
}

// otherUnits are the VF units of other names that recreate VFs on the NIC
// with this MAC: the unit of the card's earlier PCI slot.
func otherUnits(h *host.Host, mac, keep string) []string {
	if mac == "" {
		return nil
	}
	units, _ := h.Glob(UnitDir + "/photonctl-sriov-*.service")
	var out []string
	for _, u := range units {
		if path.Base(u) == keep {
			continue
		}
		if b, err := h.ReadFile(u); err == nil && ReadUnitInfo(b).MAC == mac {
			out = append(out, path.Base(u))
		}
	}
	return out
}

func planUnit(env *engine.Env, d *plan, vfs []VF, ep *engine.Plan) error {
	path, name := UnitPath(d.PF.Addr), UnitName(d.PF.Addr)
	d.PermMAC = permMAC(env, d.PF)
	d.Stale = otherUnits(env.Host, d.PermMAC, name)
	for _, s := range d.Stale {
		ep.Changes = append(ep.Changes, engine.UnitChange(s, []string{"systemctl", "disable", s}, "enabled", "disabled"),
			engine.FileChange(UnitDir+"/"+s, 0, "installed for this card's earlier PCI slot", "(removed)"))
	}
	old, err := env.Host.ReadFile(path)
	exists := err == nil
	if err != nil && !host.IsNotExist(err) {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	enabled := lexists(env.Host, UnitWantsDir+"/"+name)
	if d.N == 0 {
		if enabled {
			d.Disable = true
			ep.Changes = append(ep.Changes, engine.UnitChange(name, []string{"systemctl", "disable", name}, "enabled", "disabled"))
		}
		if exists {
			d.Remove = true
			ep.Changes = append(ep.Changes, engine.FileChange(path, 0, "installed", "(removed)"))
		}
		return nil
	}
	if d.Unit, err = unitFor(d, vfs); err != nil {
		return err
	}
	if !bytes.Equal(old, d.Unit) {
		d.Write = true
		before := "(none)"
		if exists {
			before = "differs"
		}
		ep.Changes = append(ep.Changes, engine.FileChange(path, 0, before, fmt.Sprintf("oneshot before network-pre.target: 0, then %d VFs", d.N)))
	}
	if !enabled {
		d.Enable = true
		ep.Changes = append(ep.Changes, engine.UnitChange(name, []string{"systemctl", "enable", name}, "disabled", "enabled"))
	} else if d.Write && env.Host.IsLive() {
		ep.Tools = append(ep.Tools, "systemctl") // daemon-reload after the rewrite
	}
	return nil
}

func lexists(h *host.Host, p string) bool {
	_, err := h.Lstat(p)
	return err == nil
}

// Apply creates the VFs, sets them up and installs the unit.
func (s *Step) Apply(ctx context.Context, env *engine.Env, p *engine.Plan) (bool, error) {
	plans, ok := p.Data.([]*plan)
	if !ok {
		return false, errors.New("sriov: Apply without a plan from Check")
	}
	for _, d := range plans {
		if d.Blocked != nil {
			return false, d.Blocked
		}
	}
	for _, d := range plans {
		if err := s.applyOne(ctx, env, d); err != nil {
			return false, err
		}
	}
	return false, nil
}

func (s *Step) applyOne(ctx context.Context, env *engine.Env, d *plan) error {
	if d.Blocked != nil {
		return d.Blocked
	}
	pf := d.PF
	var err error
	if d.Create {
		attr := pf.Dir() + "/sriov_numvfs"
		if err := env.Txn.RecordLive(host.Live{Path: attr, Before: strconv.Itoa(pf.NumVFs), After: strconv.Itoa(d.N), Restore: true, ZeroFirst: true,
			How: fmt.Sprintf("echo 0 > %s; echo %d > %s", attr, pf.NumVFs, attr)}); err != nil {
			return err
		}
		if pf, err = s.setNumVFs(ctx, env, pf, d.N); err != nil {
			return err
		}
	}
	if len(d.Set) > 0 {
		if err := env.Txn.RecordLive(host.Live{Path: "VF settings of " + pf.Iface(), Before: "as the driver made them", After: "trust, spoof checking, VLAN, MACs as asked",
			How: "ip link set " + pf.Iface() + " vf N ... with the old values, or recreate the VFs (echo 0, then the count, to sriov_numvfs)"}); err != nil {
			return err
		}
		if err := ApplyVFSettings(env.Netlink(), pf.Iface(), d.PFMAC, d.Set); err != nil {
			return err
		}
	}
	if d.VFIO {
		if err := env.Txn.RecordLive(host.Live{Path: "vfio-pci binding of the VFs of " + pf.Iface(), Before: "their own driver", After: VFIODriver,
			How: "for each VF: echo > /sys/bus/pci/devices/ADDR/driver_override; echo ADDR > /sys/bus/pci/drivers/vfio-pci/unbind; echo ADDR > /sys/bus/pci/drivers_probe"}); err != nil {
			return err
		}
		if err := s.applyVFIO(ctx, env, pf, d.Modprobe); err != nil {
			return err
		}
	}
	return s.applyUnit(ctx, env, d, pf.VFs)
}

func (s *Step) applyVFIO(ctx context.Context, env *engine.Env, pf PF, modprobe bool) error {
	if err := checkVFIO(env, pf, pf.VFs); err != nil {
		return err
	}
	if modprobe || !vfioLoaded(env) {
		if _, err := env.Run.Run(ctx, "modprobe", VFIODriver); err != nil {
			return fmt.Errorf("loading vfio-pci: %w", err)
		}
	}
	for _, v := range pf.VFs {
		if err := s.bindVFIO(ctx, env, v); err != nil {
			return err
		}
	}
	return nil
}

func (s *Step) applyUnit(ctx context.Context, env *engine.Env, d *plan, vfs []VF) error {
	path, name := UnitPath(d.PF.Addr), UnitName(d.PF.Addr)
	for _, st := range d.Stale {
		if lexists(env.Host, UnitWantsDir+"/"+st) {
			if err := systemctl(ctx, env, "disable", st); err != nil {
				return err
			}
		}
		if _, err := env.Txn.Remove(UnitDir + "/" + st); err != nil {
			return err
		}
	}
	if d.N == 0 {
		if d.Disable {
			if err := recordSystemctl(env, "disable", name); err != nil {
				return err
			}
			if err := systemctl(ctx, env, "disable", name); err != nil {
				return err
			}
		}
		if d.Remove {
			if _, err := env.Txn.Remove(path); err != nil {
				return err
			}
		}
		return nil
	}
	content, err := unitFor(d, vfs)
	if err != nil {
		return err
	}
	changed, err := env.Txn.WriteFile(path, content, 0o644)
	if err != nil {
		return fmt.Errorf("installing the unit that recreates the VFs at boot: %w", err)
	}
	if !lexists(env.Host, UnitWantsDir+"/"+name) {
		if err := recordSystemctl(env, "enable", name); err != nil {
			return err
		}
		return systemctl(ctx, env, "enable", name)
	}
	if changed && env.Host.IsLive() {
		if err := env.Txn.Command([]string{"systemctl", "daemon-reload"}, nil, true); err != nil {
			return err
		}
		return systemctl(ctx, env, "daemon-reload")
	}
	return nil
}

// recordSystemctl records, before it runs, systemctl enable or disable of a
// unit: the link it makes or removes, and the command that undoes it.
func recordSystemctl(env *engine.Env, verb, name string) error {
	if err := env.Txn.KeepLink(UnitWantsDir + "/" + name); err != nil {
		return err
	}
	undo := "disable"
	if verb == "disable" {
		undo = "enable"
	}
	return env.Txn.Command([]string{"systemctl", verb, name}, []string{"systemctl", undo, name}, false)
}

// Owes says what applying p leaves to do: enabling or disabling the unit,
// which the next run does if this one stops after the unit file.
func (s *Step) Owes(env *engine.Env, p *engine.Plan) engine.Owed {
	var o engine.Owed
	plans, _ := p.Data.([]*plan)
	for _, d := range plans {
		name := UnitName(d.PF.Addr)
		switch {
		case d.Enable:
			o.Run = append(o.Run, host.Command{Argv: []string{"systemctl", "enable", name}, Undo: []string{"systemctl", "disable", name}})
			o.Links = append(o.Links, UnitWantsDir+"/"+name)
		case d.Disable:
			o.Run = append(o.Run, host.Command{Argv: []string{"systemctl", "disable", name}, Undo: []string{"systemctl", "enable", name}})
			o.Links = append(o.Links, UnitWantsDir+"/"+name)
		}
	}
	return o
}

// systemctl runs systemctl through the runner, which chroots into a root that
// is not "/": there systemctl enable works on the unit files without a
// running systemd, the reason to enable through systemctl rather than by
// writing the multi-user.target.wants link (it honours [Install] and presets).
func systemctl(ctx context.Context, env *engine.Env, args ...string) error {
	argv := append([]string{"systemctl"}, args...)
	if _, err := env.Run.Run(ctx, argv...); err != nil {
		if errors.Is(err, runner.ErrNotFound) {
			return fmt.Errorf("systemctl is not installed, so the VFs will not come back after a reboot: %w; "+
				"link the unit yourself: ln -s ../%s %s/", err, args[len(args)-1], UnitWantsDir)
		}
		return fmt.Errorf("systemctl %s: %w", args[0], err)
	}
	return nil
}

// Verify reads the PF again and checks the count, settings, bindings and unit.
func (s *Step) Verify(ctx context.Context, env *engine.Env) error {
	p, err := s.Check(ctx, env)
	if err != nil {
		return err
	}
	if p.Skip != "" {
		return nil
	}
	for _, d := range p.Data.([]*plan) {
		if d.Blocked != nil {
			return d.Blocked
		}
	}
	if len(p.Changes) > 0 {
		c := p.Changes[0]
		return fmt.Errorf("%s is still %q, want %q (and %d more difference(s))", c.Path, c.Before, c.After, len(p.Changes)-1)
	}
	return nil
}
