package sriov

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/photonctl/photonctl/pkg/doctor"
	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/host"
)

// Checks are the sriov doctor checks.
func Checks() []doctor.Check {
	return []doctor.Check{
		{ID: "sriov-pfs", Group: doctor.GroupSRIOV, Run: checkPFs},
		{ID: "sriov-numvfs", Group: doctor.GroupSRIOV, Run: checkNumVFs},
		{ID: "sriov-vfs", Group: doctor.GroupSRIOV, Run: checkVFs},
		{ID: "sriov-unit", Group: doctor.GroupSRIOV, Run: checkUnit},
		{ID: "sriov-mmio", Group: doctor.GroupSRIOV, Run: checkMMIO},
	}
}

// discoverOrSkip runs Discover and turns a refusal into a skip result.
func discoverOrSkip(env *engine.Env) ([]PF, []doctor.Result) {
	v, err := env.Once("sriov.Discover", func() (any, error) { return Discover(env.Host) })
	pfs, _ := v.([]PF)
	if err != nil {
		if host.IsPermission(err) {
			return nil, []doctor.Result{{Status: doctor.Skip, Detail: "cannot read sysfs: " + err.Error() + " (run as root)"}}
		}
		return nil, []doctor.Result{{Status: doctor.Fail, Detail: "reading the PCI NICs: " + err.Error(),
			Fix: "check that /sys is mounted (mount -t sysfs sysfs /sys)"}}
	}
	if len(pfs) == 0 {
		return nil, []doctor.Result{{Status: doctor.Skip, Detail: "no PCI network functions under " + PCIDevices}}
	}
	return pfs, nil
}

func describe(p PF) string {
	var links []string
	for _, n := range p.Netdevs {
		links = append(links, n.Name+" "+n.OperState)
	}
	numa := "no NUMA node"
	if p.NUMANode >= 0 {
		numa = fmt.Sprintf("NUMA %d", p.NUMANode)
	}
	vendor := p.Vendor
	if vendor == "" {
		vendor = "vendor " + p.VendorID
	}
	s := fmt.Sprintf("%s %s: %s, %s", p.Addr, vendor, orNone(p.Driver, false), numa)
	if len(links) > 0 {
		s += ", link " + strings.Join(links, ", ")
	}
	return s + "; " + p.SRIOVState()
}

func checkPFs(ctx context.Context, env *engine.Env) []doctor.Result {
	pfs, skip := discoverOrSkip(env)
	if skip != nil {
		return skip
	}
	var out []doctor.Result
	any := false
	for _, p := range pfs {
		r := doctor.Result{Detail: describe(p)}
		switch {
		case p.SRIOV():
			r.Status, any = doctor.OK, true
		case p.Mellanox():
			r.Status = doctor.Warn
			r.Fix = "turn SR-IOV on in the ConnectX firmware: photonctl setup --only mlnx --vfs N, then reboot"
		default:
			r.Status = doctor.Skip
			r.Detail += " (cannot have VFs)"
		}
		out = append(out, r)
	}
	if !any && env.Spec.VFs > 0 {
		out = append(out, doctor.Result{Status: doctor.Fail,
			Detail: fmt.Sprintf("%d VFs asked, but no NIC here has SR-IOV on", env.Spec.VFs),
			Fix:    "enable SR-IOV and VT-d/AMD-Vi in the BIOS setup (and in the NIC firmware), then reboot"})
	}
	return out
}

func checkNumVFs(ctx context.Context, env *engine.Env) []doctor.Result {
	if env.Spec.VFs < 0 {
		return []doctor.Result{{Status: doctor.Skip, Detail: "no VF count asked for (vfs in the host spec)"}}
	}
	pfs, skip := discoverOrSkip(env)
	if skip != nil {
		return skip
	}
	sel, err := SelectPFs(pfs, env.Spec.PF)
	err = ExplainPF(env.Host, err)
	if err != nil {
		fix := "give the PF with --pf IFACE or pf: in the host spec"
		if errors.Is(err, ErrNoSRIOV) {
			fix = "enable SR-IOV and VT-d/AMD-Vi in the BIOS setup, then reboot"
		}
		return []doctor.Result{{Status: doctor.Fail, Detail: err.Error(), Fix: fix}}
	}
	var out []doctor.Result
	for _, pf := range sel {
		d := fmt.Sprintf("%s: sriov_numvfs %d, %d asked", pf, pf.NumVFs, env.Spec.VFs)
		if pf.NumVFs == env.Spec.VFs && len(pf.VFs) == env.Spec.VFs {
			out = append(out, doctor.Result{Status: doctor.OK, Detail: d})
			continue
		}
		out = append(out, doctor.Result{Status: doctor.Fail, Detail: d, Fix: fmt.Sprintf("photonctl setup --only sriov --pf %s --vfs %d", pf.Addr, env.Spec.VFs)})
	}
	return out
}

func checkVFs(ctx context.Context, env *engine.Env) []doctor.Result {
	pfs, skip := discoverOrSkip(env)
	if skip != nil {
		return skip
	}
	var out []doctor.Result
	for _, p := range pfs {
		if p.NumVFs == 0 && len(p.VFs) == 0 {
			continue
		}
		var bad, mlxVFIO []string
		var parts []string
		for _, v := range p.VFs {
			parts = append(parts, fmt.Sprintf("vf%d %s %s %s", v.Index, v.Addr, orNone(v.Driver, false), strings.Join(v.Netdevs, ",")))
			switch {
			case v.Driver == VFIODriver && isMlx5(p):
				mlxVFIO = append(mlxVFIO, v.Addr)
			case v.Driver == VFIODriver:
				// bound for DPDK: no netdev expected
			case v.Driver == "" || len(v.Netdevs) == 0:
				bad = append(bad, v.Addr)
			}
		}
		d := fmt.Sprintf("%s: %d VF link(s), sriov_numvfs %d: %s", p, len(p.VFs), p.NumVFs, strings.Join(parts, "; "))
		switch {
		case len(mlxVFIO) > 0:
			out = append(out, doctor.Result{Status: doctor.Fail, Detail: d + "; mlx5 VFs bound to vfio-pci: " + strings.Join(mlxVFIO, " "),
				Fix: fmt.Sprintf("rebind to mlx5_core (bifurcated driver): echo %s > /sys/bus/pci/drivers/vfio-pci/unbind; echo > %s/%s/driver_override; echo %s > /sys/bus/pci/drivers_probe",
					mlxVFIO[0], PCIDevices, mlxVFIO[0], mlxVFIO[0])})
		case len(p.VFs) != p.NumVFs:
			out = append(out, doctor.Result{Status: doctor.Warn, Detail: d,
				Fix: fmt.Sprintf("recreate them: photonctl setup --only sriov --pf %s --vfs %d", p.Addr, p.NumVFs)})
		case len(bad) > 0:
			out = append(out, doctor.Result{Status: doctor.Warn, Detail: d + "; without a driver or netdev: " + strings.Join(bad, " "),
				Fix: "load the VF driver (modprobe iavf for Intel, mlx5_core for Mellanox) and check " + p.Dir() + "/sriov_drivers_autoprobe is 1"})
		default:
			out = append(out, doctor.Result{Status: doctor.OK, Detail: d})
		}
	}
	if len(out) == 0 {
		return []doctor.Result{{Status: doctor.Skip, Detail: "no PF has VFs"}}
	}
	return out
}

func checkUnit(ctx context.Context, env *engine.Env) []doctor.Result {
	pfs, skip := discoverOrSkip(env)
	if skip != nil {
		return skip
	}
	var out []doctor.Result
	for _, p := range pfs {
		path, name := UnitPath(p.Addr), UnitName(p.Addr)
		b, err := env.Host.ReadFile(path)
		if host.IsNotExist(err) {
			// A unit that follows this card by its MAC, from another slot.
			if u := unitOfMAC(env.Host, pfMAC(p)); u != "" {
				path, name = u, filepathBase(u)
				b, err = env.Host.ReadFile(u)
			}
		}
		if p.NumVFs == 0 && err != nil {
			continue
		}
		info := ReadUnitInfo(b)
		fix := fmt.Sprintf("photonctl setup --only sriov --pf %s --vfs %d", p.Addr, p.NumVFs)
		switch {
		case err != nil && host.IsNotExist(err):
			out = append(out, doctor.Result{Status: doctor.Warn, Detail: fmt.Sprintf("%s has %d VFs but no %s: they vanish at the next reboot", p, p.NumVFs, path), Fix: fix})
		case err != nil:
			out = append(out, doctor.Result{Status: doctor.Skip, Detail: fmt.Sprintf("reading %s: %v", path, err)})
		case !lexists(env.Host, UnitWantsDir+"/"+name):
			out = append(out, doctor.Result{Status: doctor.Warn, Detail: path + " is installed but not enabled", Fix: "systemctl enable " + name})
		case info.VFs != p.NumVFs:
			// The unit writes 0 before N: only its last count is what boot
			// leaves. With no VFs now, recreating the unit's count is the fix.
			if p.NumVFs == 0 {
				fix = fmt.Sprintf("photonctl setup --only sriov --pf %s --vfs %d", p.Addr, info.VFs)
			}
			out = append(out, doctor.Result{Status: doctor.Warn,
				Detail: fmt.Sprintf("%s does not recreate the %d VFs %s has now (it creates %d)", path, p.NumVFs, p, info.VFs), Fix: fix})
		case info.MAC != "":
			out = append(out, doctor.Result{Status: doctor.OK, Detail: fmt.Sprintf("%s recreates %d VFs at boot on the NIC with MAC %s, in whatever slot (now %s)", name, p.NumVFs, info.MAC, p.Addr)})
		default:
			out = append(out, doctor.Result{Status: doctor.OK, Detail: fmt.Sprintf("%s recreates %d VFs on %s at boot", name, p.NumVFs, p.Addr)})
		}
	}
	out = append(out, orphanUnits(env, pfs)...)
	if len(out) == 0 {
		return []doctor.Result{{Status: doctor.Skip, Detail: "no VFs to keep across reboots"}}
	}
	return out
}

func filepathBase(p string) string { return path.Base(p) }

// pfMAC is the PF's MAC now, lower case.
func pfMAC(p PF) string {
	if len(p.Netdevs) == 0 {
		return ""
	}
	return strings.ToLower(p.Netdevs[0].MAC)
}

// unitOfMAC is the VF unit that follows the NIC with this MAC, or "".
func unitOfMAC(h *host.Host, mac string) string {
	if mac == "" {
		return ""
	}
	units, _ := h.Glob(UnitDir + "/photonctl-sriov-*.service")
	for _, u := range units {
		if b, err := h.ReadFile(u); err == nil && ReadUnitInfo(b).MAC == mac {
			return u
		}
	}
	return ""
}

// orphanUnits finds the enabled VF units that no NIC answers any more: a
// unit of the PCI address form whose address holds no device (the card
// moved to another slot, or was removed), or a unit that follows a MAC no
// PF has. At boot they do nothing, so the VFs do not come back.
func orphanUnits(env *engine.Env, pfs []PF) []doctor.Result {
	units, _ := env.Host.Glob(UnitDir + "/photonctl-sriov-*.service")
	var out []doctor.Result
	for _, u := range units {
		name := path.Base(u)
		addr := strings.TrimSuffix(strings.TrimPrefix(name, "photonctl-sriov-"), ".service")
		b, _ := env.Host.ReadFile(u)
		info := ReadUnitInfo(b)
		var d string
		if info.MAC != "" {
			found := false
			for _, p := range pfs {
				found = found || pfMAC(p) == info.MAC
			}
			if found {
				continue
			}
			d = fmt.Sprintf("%s recreates %d VFs on the NIC with MAC %s, but no PF of this host has that MAC (the card is gone): "+
				"at boot it fails and no VFs come back", name, info.VFs, info.MAC)
		} else {
			if env.Host.Exists(PCIDevices + "/" + addr) {
				continue
			}
			d = fmt.Sprintf("%s recreates %d VFs on %s, but this host has no PCI device %s (the card moved to another slot, or is gone): "+
				"at boot it does nothing and the VFs do not come back", name, info.VFs, addr, addr)
		}
		remove := fmt.Sprintf("systemctl disable %s && rm %s", name, u)
		if !lexists(env.Host, UnitWantsDir+"/"+name) {
			out = append(out, doctor.Result{Status: doctor.Warn, Detail: d + " (it is not enabled)", Fix: "rm " + u})
			continue
		}
		out = append(out, doctor.Result{Status: doctor.Fail, Detail: d,
			Fix: fmt.Sprintf("photonctl setup --only sriov --pf NEW-PF --vfs %d for the card where it is now, then %s", max(info.VFs, 1), remove)})
	}
	return out
}

// unitVFs is the VF count the unit leaves at boot: the last
// `echo N > .../sriov_numvfs` it runs (-1 when none).
func unitVFs(b []byte) int {
	n := -1
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(l, "ExecStart=") || !strings.Contains(l, "/sriov_numvfs'") {
			continue
		}
		_, rest, ok := strings.Cut(l, "'echo ")
		if !ok {
			continue
		}
		if v, err := strconv.Atoi(strings.Fields(rest)[0]); err == nil {
			n = v
		}
	}
	return n
}

// checkMMIO looks for VF BARs the kernel could not place (from sysfs
// "resource", no dmesg needed): writing sriov_numvfs then fails with ENOMEM.
func checkMMIO(ctx context.Context, env *engine.Env) []doctor.Result {
	pfs, skip := discoverOrSkip(env)
	if skip != nil {
		return skip
	}
	cmdline, _ := env.Host.ReadString("/proc/cmdline")
	realloc := false
	for _, a := range strings.Fields(cmdline) {
		if a == "pci=realloc" || a == "pci=realloc=on" {
			realloc = true
		}
	}
	var out []doctor.Result
	for _, p := range pfs {
		if !p.SRIOV() {
			continue
		}
		b, err := env.Host.ReadFile(p.Dir() + "/resource")
		if err != nil {
			out = append(out, doctor.Result{Status: doctor.Skip, Detail: fmt.Sprintf("%s: cannot read resource: %v", p, err)})
			continue
		}
		res, err := ParseResources(bytes.NewReader(b))
		if err != nil {
			out = append(out, doctor.Result{Status: doctor.Skip, Detail: fmt.Sprintf("%s: %v", p, err)})
			continue
		}
		un := UnassignedVFBARs(res)
		if len(un) == 0 {
			out = append(out, doctor.Result{Status: doctor.OK, Detail: p.String() + ": the VF BARs have MMIO space"})
			continue
		}
		d := fmt.Sprintf("%s: VF BAR(s) %v have no MMIO space: creating VFs fails with \"cannot allocate memory\"", p, un)
		if realloc {
			out = append(out, doctor.Result{Status: doctor.Fail, Detail: d + " even with pci=realloc",
				Fix: "enable \"Above 4G decoding\" and \"SR-IOV support\" in the BIOS setup, then reboot"})
		} else {
			out = append(out, doctor.Result{Status: doctor.Fail, Detail: d,
				Fix: "photonctl setup --pci-realloc (adds pci=realloc to the kernel command line), then reboot"})
		}
	}
	if len(out) == 0 {
		return []doctor.Result{{Status: doctor.Skip, Detail: "no SR-IOV PF"}}
	}
	return out
}
