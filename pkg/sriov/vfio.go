package sriov

import (
	"context"
	"fmt"

	"github.com/photonctl/photonctl/pkg/engine"
)

// VFIODriver is the driver DPDK wants Intel VFs bound to.
const VFIODriver = "vfio-pci"

// isMlx5 reports whether the PF uses the mlx5 bifurcated driver: its VFs stay
// on mlx5_core and are never bound to vfio-pci.
func isMlx5(pf PF) bool { return pf.Mellanox() || pf.Driver == "mlx5_core" }

// checkVFIO refuses --bind-vfio where it cannot be right: on mlx5, and on a
// VF whose netdev carries a default route (binding it cuts the host off).
func checkVFIO(pf PF, vfs []VF, routed []string) error {
	if isMlx5(pf) {
		return engine.BadInput("--bind-vfio: %s uses mlx5, a bifurcated driver: DPDK drives its VFs while they stay "+
			"bound to mlx5_core, and binding them to vfio-pci breaks that, so photonctl never binds mlx5: drop --bind-vfio", pf)
	}
	for _, v := range vfs {
		for _, n := range v.Netdevs {
			for _, r := range routed {
				if n == r {
					return engine.BadInput("--bind-vfio: VF %d (%s, %s) carries the default route; binding it to vfio-pci "+
						"would cut this host off the network: move the route to another interface first", v.Index, v.Addr, n)
				}
			}
		}
	}
	return nil
}

// bindVFIO binds one VF to vfio-pci the way the kernel documents it:
// driver_override, unbind from the current driver, drivers_probe.
// Equivalent to: echo vfio-pci > .../driver_override; echo ADDR > .../driver/unbind;
// echo ADDR > /sys/bus/pci/drivers_probe.
func (s *Step) bindVFIO(ctx context.Context, env *engine.Env, vf VF) error {
	if vf.Driver == VFIODriver {
		return nil
	}
	dev := PCIDevices + "/" + vf.Addr
	if _, err := s.write(ctx, env.Host, dev+"/driver_override", VFIODriver, s.WriteTimeout); err != nil {
		return fmt.Errorf("binding VF %d (%s) to vfio-pci: %w", vf.Index, vf.Addr, err)
	}
	if vf.Driver != "" {
		if _, err := s.write(ctx, env.Host, dev+"/driver/unbind", vf.Addr, s.WriteTimeout); err != nil {
			return fmt.Errorf("unbinding VF %d (%s) from %s: %w", vf.Index, vf.Addr, vf.Driver, err)
		}
	}
	if _, err := s.write(ctx, env.Host, "/sys/bus/pci/drivers_probe", vf.Addr, s.WriteTimeout); err != nil {
		return fmt.Errorf("probing VF %d (%s) for vfio-pci: %w", vf.Index, vf.Addr, err)
	}
	if d := linkBase(env.Host, dev+"/driver"); d != VFIODriver {
		return fmt.Errorf("VF %d (%s) is bound to %q, not vfio-pci, after drivers_probe: is the IOMMU on "+
			"(intel_iommu=on iommu=pt; photonctl doctor --only kernel)? see dmesg", vf.Index, vf.Addr, d)
	}
	return nil
}

// vfioLoaded reports whether the vfio-pci driver is registered.
func vfioLoaded(env *engine.Env) bool { return env.Host.Exists("/sys/bus/pci/drivers/" + VFIODriver) }
