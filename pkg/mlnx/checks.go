package mlnx

import (
	"context"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/photonctl/photonctl/pkg/doctor"
	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/runner"
)

// Checks are the doctor checks of the mlnx group.
func Checks() []doctor.Check {
	g := doctor.GroupMlnx
	return []doctor.Check{
		{ID: "mlnx-nic", Group: g, Run: withCards(checkNIC)},
		{ID: "mlnx-tools", Group: g, Run: withCards(checkTools)},
		{ID: "mlnx-firmware", Group: g, Run: withCards(checkFirmware)},
		{ID: "mlnx-ibdev2netdev", Group: g, Run: withCards(checkIBDev)},
		{ID: "mlnx-ofed", Group: g, Run: withCards(checkOFEDInstalled)},
		{ID: "mlnx-mlx5-core", Group: g, Run: withCards(checkMlx5Core)},
		{ID: "mlnx-gcc", Group: g, Run: withCards(checkGCC)},
		{ID: "mlnx-rdma-packages", Group: g, Run: withCards(checkRDMAPackages)},
		{ID: "mlnx-driver", Group: g, Run: withCards(checkDriver)},
	}
}

const noNIC = "no Mellanox NIC (PCI vendor 0x15b3 with a network interface) on this host"

// withCards skips a check, with the reason, on a host without Mellanox NICs.
func withCards(f func(context.Context, *engine.Env, []Card) []doctor.Result) func(context.Context, *engine.Env) []doctor.Result {
	return func(ctx context.Context, env *engine.Env) []doctor.Result {
		v, err := env.Once("mlnx.Discover", func() (any, error) { return Discover(env.Host) })
		cards, _ := v.([]Card)
		if err != nil {
			return []doctor.Result{{Status: doctor.Skip, Detail: "cannot list PCI devices: " + err.Error()}}
		}
		if len(cards) == 0 {
			return []doctor.Result{{Status: doctor.Skip, Detail: noNIC}}
		}
		return f(ctx, env, cards)
	}
}

func cardName(c Card) string {
	if m := c.First().Model(); m != "" {
		return fmt.Sprintf("%s at %s", m, c.Slot)
	}
	return c.Slot
}

func checkNIC(_ context.Context, _ *engine.Env, cards []Card) []doctor.Result {
	var out []doctor.Result
	for _, c := range cards {
		var pfs []string
		for _, p := range c.PFs {
			s := p.describe()
			if p.TotalVFs >= 0 {
				s += fmt.Sprintf(" %d/%d VFs", max(p.NumVFs, 0), p.TotalVFs)
			} else {
				s += " no SR-IOV (off in firmware or BIOS)"
			}
			pfs = append(pfs, s)
		}
		out = append(out, doctor.Result{Status: doctor.OK, Detail: cardName(c) + ": " + strings.Join(pfs, "; ")})
	}
	return out
}

func checkTools(_ context.Context, env *engine.Env, _ []Card) []doctor.Result {
	t, err := DetectTools(env.Run)
	if err != nil {
		return []doctor.Result{{Status: doctor.Warn, Detail: "neither NVIDIA MFT (mlxconfig) nor mstflint (mstconfig) is installed: the firmware's SR-IOV settings cannot be read or set", Fix: InstallHint}}
	}
	tools := []string{t.Config}
	for _, x := range []string{t.Reset, t.MST} {
		if x != "" {
			tools = append(tools, x)
		}
	}
	return []doctor.Result{{Status: doctor.OK, Detail: fmt.Sprintf("%s (%s)", t.Suite, strings.Join(tools, ", "))}}
}

func checkFirmware(ctx context.Context, env *engine.Env, cards []Card) []doctor.Result {
	t, err := DetectTools(env.Run)
	if err != nil {
		return []doctor.Result{{Status: doctor.Skip, Detail: "no firmware tool to read the settings with (see mlnx-tools)"}}
	}
	var out []doctor.Result
	for _, c := range cards {
		out = append(out, firmwareResult(ctx, env, t, c))
	}
	return out
}

func firmwareResult(ctx context.Context, env *engine.Env, t Tools, c Card) doctor.Result {
	r := firmwareVerdict(ctx, env, t, c)
	if (r.Status == doctor.Warn || r.Status == doctor.Fail) && strings.Contains(r.Fix, " set ") {
		if mode := Lockdown(env.Host); lockedDown(mode) {
			r.Fix += fmt.Sprintf("; but kernel lockdown is [%s] (%s): do it with lockdown off, or in the card's UEFI setup menu", mode, LockdownPath)
		}
	}
	return r
}

func firmwareVerdict(ctx context.Context, env *engine.Env, t Tools, c Card) doctor.Result {
	first := c.First()
	dev := first.PCI
	if t.MFT() && t.MST != "" {
		if d, _, err := mstDevice(ctx, env, first.PCI); err == nil && d != "" {
			dev = d
		}
	}
	cfg, err := queryConfig(ctx, env, t, dev)
	if err != nil {
		if env.Host.IsLive() && os.Geteuid() != 0 {
			return doctor.Result{Status: doctor.Skip, Detail: "needs root to read the firmware settings of " + cardName(c)}
		}
		return doctor.Result{Status: doctor.Fail, Detail: err.Error(), Fix: "check the card with lspci -nn -d 15b3: and run " + runner.Quote(t.QueryArgv(dev)) + " as root"}
	}
	st, err := firmwareState(cfg, dev, first)
	if err != nil {
		return doctor.Result{Status: doctor.Fail, Detail: err.Error(), Fix: "update the firmware tool and the card's firmware (mlxfwmanager --online -u, or the card vendor's tool)"}
	}
	src := ""
	if st.CurFromSysfs {
		src = " (current from sriov_totalvfs)"
	}
	detail := fmt.Sprintf("%s: current %s%s, next boot %s", cardName(c), st.render(true), src, st.render(false))
	want := env.Spec.VFs
	n := want
	if n <= 0 {
		n = 8
	}
	set := runner.Quote(t.SetArgv(dev, max(n, st.NextVFs)))
	reset := "reboot"
	if t.Reset != "" {
		reset = "reboot, or apply it now: " + runner.Quote(t.ResetArgv(dev))
	}
	if want <= 0 {
		switch {
		case !st.CurEn && !st.NextEn:
			return doctor.Result{Status: doctor.Warn, Detail: detail + "; SR-IOV is off in the firmware: no VFs possible",
				Fix: fmt.Sprintf("photonctl setup --vfs %d (runs %s), then reboot", max(n, st.NextVFs), set)}
		case st.CurEn != st.NextEn || st.CurVFs != st.NextVFs:
			return doctor.Result{Status: doctor.Warn, Detail: detail + "; the firmware changes at the next boot", Fix: reset}
		}
		return doctor.Result{Status: doctor.OK, Detail: detail}
	}
	cur, next := st.Satisfies(want)
	switch {
	case cur && next:
		return doctor.Result{Status: doctor.OK, Detail: fmt.Sprintf("%s; allows %d VFs", detail, want)}
	case cur:
		return doctor.Result{Status: doctor.Warn, Detail: fmt.Sprintf("%s; allows %d VFs now but not after the next boot", detail, want),
			Fix: fmt.Sprintf("photonctl setup --vfs %d (runs %s)", want, set)}
	case next:
		return doctor.Result{Status: doctor.Warn, Detail: fmt.Sprintf("%s; set for %d VFs at the next boot, not yet running", detail, want), Fix: reset}
	}
	return doctor.Result{Status: doctor.Fail, Detail: fmt.Sprintf("%s; %d VFs need SR-IOV in the firmware", detail, want),
		Fix: fmt.Sprintf("photonctl setup --vfs %d (runs %s), then reboot", want, set)}
}

func checkIBDev(ctx context.Context, env *engine.Env, _ []Card) []doctor.Result {
	if _, err := env.Run.LookPath("ibdev2netdev"); err == nil {
		out, err := env.Run.Run(ctx, "ibdev2netdev")
		if err == nil {
			links, _ := ParseIbdev2netdev(strings.NewReader(string(out)))
			if len(links) > 0 {
				var s []string
				for _, l := range links {
					s = append(s, fmt.Sprintf("%s port %d ==> %s (%s)", l.IBDev, l.Port, l.Netdev, l.State))
				}
				return []doctor.Result{{Status: doctor.OK, Detail: strings.Join(s, "; ")}}
			}
		}
	}
	// Without the tool (or its answer), sysfs tells the same.
	devs, _ := env.Host.Glob("/sys/class/infiniband/*")
	var s []string
	for _, d := range devs {
		nets, _ := env.Host.ReadDir(d + "/device/net")
		for _, n := range nets {
			s = append(s, fmt.Sprintf("%s ==> %s", path.Base(d), n.Name()))
		}
	}
	if len(s) == 0 {
		return []doctor.Result{{Status: doctor.Warn, Detail: "no RDMA device maps to a Mellanox interface: DPDK's mlx5 driver needs one (mlx5_ib and the verbs libraries)",
			Fix: "modprobe mlx5_ib (and install rdma-core, or MLNX_OFED)"}}
	}
	return []doctor.Result{{Status: doctor.OK, Detail: strings.Join(s, "; ") + " (from sysfs)"}}
}

func checkOFEDInstalled(ctx context.Context, env *engine.Env, _ []Card) []doctor.Result {
	v, ok, err := installedOFED(ctx, env)
	switch {
	case err != nil:
		return []doctor.Result{{Status: doctor.Warn, Detail: err.Error(), Fix: "reinstall MLNX_OFED: photonctl setup --ofed-dir DIR"}}
	case !ok:
		return []doctor.Result{{Status: doctor.Warn, Detail: "MLNX_OFED is not installed (ofed_info not found): the distribution's mlx5 driver is in use",
			Fix: "download MLNX_OFED for this OS from https://network.nvidia.com/products/infiniband-drivers/linux/mlnx_ofed/, unpack it, then photonctl setup --ofed-dir DIR"}}
	}
	return []doctor.Result{{Status: doctor.OK, Detail: v.String()}}
}

func checkMlx5Core(_ context.Context, env *engine.Env, _ []Card) []doctor.Result {
	if env.Host.Exists("/sys/module/mlx5_core") {
		return []doctor.Result{{Status: doctor.OK, Detail: "mlx5_core is loaded"}}
	}
	return []doctor.Result{{Status: doctor.Fail, Detail: "mlx5_core is not loaded: the ConnectX ports have no driver", Fix: "modprobe mlx5_core"}}
}

func checkGCC(ctx context.Context, env *engine.Env, _ []Card) []doctor.Result {
	pv, err := env.Host.ReadFile("/proc/version")
	if err != nil {
		return []doctor.Result{{Status: doctor.Skip, Detail: "cannot read /proc/version: " + err.Error()}}
	}
	kgcc, err := ParseKernelGCC(pv)
	if err != nil {
		return []doctor.Result{{Status: doctor.Skip, Detail: "the running kernel was not built with gcc (/proc/version names none)"}}
	}
	fix := fmt.Sprintf("install gcc %s, the version that built the running kernel (yum install gcc on its distribution release; apt-get install %s on Debian/Ubuntu)", kgcc, gccPackage(kgcc))
	if _, err := env.Run.LookPath("gcc"); err != nil {
		return []doctor.Result{{Status: doctor.Warn, Detail: fmt.Sprintf("gcc is not installed; MLNX_OFED's --add-kernel-support builds its modules with it (the kernel was built with gcc %s)", kgcc), Fix: fix}}
	}
	out, err := env.Run.Run(ctx, "gcc", "--version")
	if err != nil {
		return []doctor.Result{{Status: doctor.Warn, Detail: err.Error(), Fix: fix}}
	}
	g, err := ParseGCCVersion(out)
	if err != nil {
		return []doctor.Result{{Status: doctor.Warn, Detail: fmt.Sprintf("gcc --version printed no version (%q)", firstLine(out)), Fix: fix}}
	}
	if !SameGCC(g, kgcc) {
		return []doctor.Result{{Status: doctor.Warn, Detail: fmt.Sprintf("gcc is %s but the kernel was built with gcc %s: OFED modules built with it may not load", g, kgcc), Fix: fix}}
	}
	return []doctor.Result{{Status: doctor.OK, Detail: fmt.Sprintf("gcc %s, the same as built the kernel", g)}}
}

func checkRDMAPackages(ctx context.Context, env *engine.Env, _ []Card) []doctor.Result {
	argv, remove := rpmListArgv, "rpm -e"
	if _, err := env.Run.LookPath("rpm"); err != nil {
		if _, err := env.Run.LookPath("dpkg-query"); err != nil {
			return []doctor.Result{{Status: doctor.Skip, Detail: "neither rpm nor dpkg-query is installed: cannot list packages"}}
		}
		argv, remove = dpkgListArgv, "apt-get remove"
	}
	out, err := env.Run.Run(ctx, argv...)
	if err != nil {
		return []doctor.Result{{Status: doctor.Skip, Detail: "listing packages: " + err.Error()}}
	}
	distro := DistroRDMA(ParsePackages(out))
	if len(distro) == 0 {
		return []doctor.Result{{Status: doctor.OK, Detail: "no distribution rdma packages that collide with MLNX_OFED's"}}
	}
	var names, shown []string
	for _, p := range distro {
		names = append(names, p.Name)
		shown = append(shown, p.Name+" "+p.Version)
	}
	_, ofed, _ := installedOFED(ctx, env)
	if ofed || env.Spec.OFEDDir != "" {
		return []doctor.Result{{Status: doctor.Warn, Detail: "distribution rdma packages collide with MLNX_OFED's own: " + strings.Join(shown, ", "),
			Fix: remove + " " + strings.Join(names, " ") + " (then let mlnxofedinstall bring its own)"}}
	}
	return []doctor.Result{{Status: doctor.OK, Detail: "distribution rdma packages " + strings.Join(shown, ", ") +
		" (the inbox driver uses them; remove them before installing MLNX_OFED: " + remove + " " + strings.Join(names, " ") + ")"}}
}

func checkDriver(_ context.Context, _ *engine.Env, cards []Card) []doctor.Result {
	var out []doctor.Result
	n := 0
	for _, c := range cards {
		for _, p := range c.PFs {
			fns := append([]VF{{PCI: p.PCI, Driver: p.Driver}}, p.VFs...)
			for _, f := range fns {
				n++
				switch f.Driver {
				case "mlx5_core":
				case "vfio-pci", "uio_pci_generic", "igb_uio":
					out = append(out, doctor.Result{Status: doctor.Warn,
						Detail: fmt.Sprintf("%s is bound to %s: mlx5 devices use the bifurcated driver and must stay on mlx5_core for DPDK's mlx5 driver", f.PCI, f.Driver),
						Fix:    fmt.Sprintf("echo > /sys/bus/pci/devices/%[1]s/driver_override; echo %[1]s > /sys/bus/pci/drivers/%[2]s/unbind; echo %[1]s > /sys/bus/pci/drivers_probe", f.PCI, f.Driver)})
				case "":
					out = append(out, doctor.Result{Status: doctor.Warn, Detail: f.PCI + " has no driver",
						Fix: fmt.Sprintf("modprobe mlx5_core; echo %s > /sys/bus/pci/drivers_probe", f.PCI)})
				default:
					out = append(out, doctor.Result{Status: doctor.Warn, Detail: fmt.Sprintf("%s is bound to %s, not mlx5_core", f.PCI, f.Driver),
						Fix: fmt.Sprintf("echo %[1]s > /sys/bus/pci/drivers/%[2]s/unbind; echo %[1]s > /sys/bus/pci/drivers_probe", f.PCI, f.Driver)})
				}
			}
		}
	}
	if len(out) == 0 {
		out = append(out, doctor.Result{Status: doctor.OK, Detail: fmt.Sprintf("%d Mellanox function(s) on mlx5_core; keep them there (never vfio-pci): DPDK's mlx5 driver works through it", n)})
	}
	return out
}

// gccPackage names Debian's package for a gcc version: gcc-11, gcc-4.8.
func gccPackage(v string) string {
	p := strings.Split(v, ".")
	if len(p) >= 2 && len(p[0]) == 1 && p[0] < "5" {
		return "gcc-" + p[0] + "." + p[1]
	}
	return "gcc-" + p[0]
}
