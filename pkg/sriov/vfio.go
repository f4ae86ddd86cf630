package sriov

import (
	"context"
	"fmt"
	"time"

	"github.com/photonctl/photonctl/pkg/engine"
)

// VFIODriver is the driver DPDK wants Intel VFs bound to.
const VFIODriver = "vfio-pci"

// isMlx5 reports whether the PF uses the mlx5 bifurcated driver: its VFs stay
// on mlx5_core and are never bound to vfio-pci.
func isMlx5(pf PF) bool { return pf.Mellanox() || pf.Driver == "mlx5_core" }

// checkVFIO refuses --bind-vfio where it cannot be right: on mlx5, and on a
// VF whose netdev carries a default route or this SSH session (binding it
// cuts the host off). Only VFs are ever bound: never the PF.
func checkVFIO(env *engine.Env, pf PF, vfs []VF) error {
	if isMlx5(pf) {
		return engine.BadInput("--bind-vfio: %s uses mlx5, a bifurcated driver: DPDK drives its VFs while they stay "+
			"bound to mlx5_core, and binding them to vfio-pci breaks that, so photonctl never binds mlx5: drop --bind-vfio", pf)
	}
	if env == nil {
		return nil
	}
	crit, err := CriticalIfaces(env)
	if err != nil {
		return err
	}
	for _, v := range vfs {
		for _, n := range v.Netdevs {
			for _, c := range crit {
				if n == c.Name {
					return engine.BadInput("--bind-vfio: VF %d (%s, %s) %s; binding it to vfio-pci "+
						"would cut this host off the network: move that to another interface first", v.Index, v.Addr, n, c.Why)
				}
			}
		}
	}
	return nil
}

// bindVFIO binds one VF to vfio-pci the way driverctl and dpdk-devbind do:
// driver_override names vfio-pci, the VF is unbound from its driver through
// that driver's folder, and drivers_probe makes the kernel bind it again,
// now to the override. The result is read from the VF's driver link; the
// write-only triggers (unbind, drivers_probe) are never read back. If the
// VF does not end up on vfio-pci, the override is cleared and the VF probed
// again, so that it goes back to its own driver.
// Equivalent to: echo vfio-pci > /sys/bus/pci/devices/ADDR/driver_override;
// echo ADDR > /sys/bus/pci/drivers/DRIVER/unbind; echo ADDR > /sys/bus/pci/drivers_probe.
func (s *Step) bindVFIO(ctx context.Context, env *engine.Env, vf VF) error {
	dev := PCIDevices + "/" + vf.Addr
	cur := linkBase(env.Host, dev+"/driver")
	if cur == VFIODriver {
		return nil
	}
	if _, err := s.write(ctx, env.Host, dev+"/driver_override", VFIODriver, s.WriteTimeout); err != nil {
		return fmt.Errorf("binding VF %d (%s) to vfio-pci: %w", vf.Index, vf.Addr, err)
	}
	if cur != "" {
		if _, err := s.write(ctx, env.Host, "/sys/bus/pci/drivers/"+cur+"/unbind", vf.Addr, s.WriteTimeout); err != nil {
			s.undoOverride(ctx, env, vf.Addr)
			return fmt.Errorf("unbinding VF %d (%s) from %s: %w", vf.Index, vf.Addr, cur, err)
		}
	}
	if _, err := s.write(ctx, env.Host, "/sys/bus/pci/drivers_probe", vf.Addr, s.WriteTimeout); err != nil {
		s.undoOverride(ctx, env, vf.Addr)
		return fmt.Errorf("probing VF %d (%s) for vfio-pci: %w", vf.Index, vf.Addr, err)
	}
	got := s.waitDriver(ctx, env, dev)
	if got != VFIODriver {
		s.undoOverride(ctx, env, vf.Addr)
		return fmt.Errorf("VF %d (%s) is bound to %s, not vfio-pci, after drivers_probe: is the IOMMU on "+
			"(intel_iommu=on iommu=pt; photonctl doctor --only kernel)? see dmesg", vf.Index, vf.Addr, orNone(got, false))
	}
	return nil
}

// waitDriver reads the device's driver link until it names vfio-pci, for at
// most the step's wait bound (a probe is synchronous, but udev may race it).
func (s *Step) waitDriver(ctx context.Context, env *engine.Env, dev string) string {
	deadline := time.Now().Add(min(s.WaitTimeout, 5*time.Second))
	for {
		d := linkBase(env.Host, dev+"/driver")
		if d == VFIODriver || time.Now().After(deadline) || ctx.Err() != nil {
			return d
		}
		time.Sleep(s.Poll)
	}
}

// undoOverride clears a VF's driver_override and probes it again, so that a
// failed bind leaves it on its own driver; best effort, after an error.
func (s *Step) undoOverride(ctx context.Context, env *engine.Env, addr string) {
	dev := PCIDevices + "/" + addr
	if _, err := s.write(ctx, env.Host, dev+"/driver_override", "\n", s.WriteTimeout); err != nil {
		return
	}
	if linkBase(env.Host, dev+"/driver") == "" {
		_, _ = s.write(ctx, env.Host, "/sys/bus/pci/drivers_probe", addr, s.WriteTimeout)
	}
}

// vfioLoaded reports whether the vfio-pci driver is registered.
func vfioLoaded(env *engine.Env) bool { return env.Host.Exists("/sys/bus/pci/drivers/" + VFIODriver) }
