package dpdkenv

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/photonctl/photonctl/pkg/doctor"
	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/host"
)

// libDirs are where the dynamic linker finds rdma-core's and OFED's
// libraries on the distributions photonctl knows.
var libDirs = []string{
	"/usr/lib64", "/lib64", "/usr/lib", "/lib",
	"/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu",
	"/usr/lib/aarch64-linux-gnu", "/lib/aarch64-linux-gnu",
	"/usr/local/lib64", "/usr/local/lib",
}

// mlx5Libs are the libraries DPDK's mlx5 PMD loads (rdma-core or OFED).
var mlx5Libs = []string{"libibverbs", "libmlx5"}

// mellanoxDevices lists the PCI devices of vendor 0x15b3.
func mellanoxDevices(h *host.Host) ([]string, error) {
	vendors, err := h.Glob("/sys/bus/pci/devices/*/vendor")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, v := range vendors {
		s, err := h.ReadString(v)
		if err != nil {
			if host.IsPermission(err) {
				return nil, fmt.Errorf("%s: %w", v, err)
			}
			continue
		}
		if strings.EqualFold(s, vendorMellanox) {
			out = append(out, path.Base(path.Dir(v)))
		}
	}
	sort.Strings(out)
	return out, nil
}

func checkMlx5(ctx context.Context, env *engine.Env) []doctor.Result {
	h := env.Host
	if !h.Exists("/sys/bus/pci/devices") {
		return []doctor.Result{{Status: doctor.Skip, Detail: "no /sys/bus/pci/devices (no sysfs under the root)"}}
	}
	devs, err := mellanoxDevices(h)
	if err != nil {
		if host.IsPermission(err) {
			return []doctor.Result{{Status: doctor.Skip, Detail: "not root: cannot read " + err.Error()}}
		}
		return []doctor.Result{{Status: doctor.Skip, Detail: "cannot list PCI devices: " + err.Error()}}
	}
	if len(devs) == 0 {
		return []doctor.Result{{Status: doctor.Skip, Detail: "no Mellanox NIC (vendor 0x15b3) in /sys/bus/pci/devices"}}
	}
	found := map[string]string{}
	for _, lib := range mlx5Libs {
		for _, d := range libDirs {
			m, err := h.Glob(d + "/" + lib + ".so*")
			if err == nil && len(m) > 0 {
				found[lib] = m[0]
				break
			}
		}
	}
	var missing, have []string
	for _, lib := range mlx5Libs {
		if p, ok := found[lib]; ok {
			have = append(have, p)
		} else {
			missing = append(missing, lib+".so*")
		}
	}
	nics := fmt.Sprintf("%d Mellanox device(s) (%s)", len(devs), strings.Join(devs, ", "))
	if len(missing) > 0 {
		return []doctor.Result{{Status: doctor.Fail,
			Detail: fmt.Sprintf("%s, but %s not found in %s: the mlx5 PMD cannot load, DPDK will say No probed ethernet devices", nics, strings.Join(missing, " and "), strings.Join(libDirs, ", ")),
			Fix:    "install rdma-core's libraries (yum install rdma-core libibverbs; apt-get install ibverbs-providers libibverbs1) or MLNX_OFED with ./mlnxofedinstall --dpdk --upstream-libs, then rebuild DPDK so it builds the mlx5 PMD"}}
	}
	return []doctor.Result{{Status: doctor.OK,
		Detail: fmt.Sprintf("%s; the mlx5 PMD's libraries are present: %s", nics, strings.Join(have, ", "))}}
}
