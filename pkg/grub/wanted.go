package grub

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/spec"
)

// CPU vendors as /proc/cpuinfo names them.
const (
	VendorIntel = "GenuineIntel"
	VendorAMD   = "AuthenticAMD"
)

// ParseCPUVendor returns the vendor_id of the first CPU in /proc/cpuinfo
// ("" when there is none, as on ARM).
func ParseCPUVendor(r io.Reader) string {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "vendor_id" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// IOMMUArgs are the arguments that turn the IOMMU on for DPDK on this CPU,
// and those to take away. AMD-Vi is on by default; amd_iommu=on is not a
// value current kernels know, so it goes.
func IOMMUArgs(h *host.Host, sp spec.Spec) (add, remove []string, err error) {
	if len(sp.IOMMUArgs) > 0 {
		return append([]string(nil), sp.IOMMUArgs...), nil, nil
	}
	b, err := h.ReadFile(ProcCPUInfo)
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s to choose the IOMMU arguments: %w; pass --iommu-args", ProcCPUInfo, err)
	}
	switch v := ParseCPUVendor(bytes.NewReader(b)); v {
	case VendorIntel:
		return []string{"intel_iommu=on", "iommu=pt"}, nil, nil
	case VendorAMD:
		return []string{"iommu=pt"}, []string{"amd_iommu=on"}, nil
	default:
		if v == "" {
			v = "none"
		}
		return nil, nil, engine.BadInput("%s names no Intel or AMD CPU (vendor_id: %s); pass the IOMMU arguments this CPU needs with --iommu-args", ProcCPUInfo, v)
	}
}

// WantsIOMMU reports whether the run asks for the IOMMU arguments: given
// with --iommu-args, needed by --vfs N (N > 0) or --bind-vfio (SR-IOV VFs and
// vfio-pci need the IOMMU), or the grub step named with --only.
func WantsIOMMU(env *engine.Env) bool {
	sp := env.Spec
	return len(sp.IOMMUArgs) > 0 || sp.VFs > 0 || sp.BindVFIO || env.Named(engine.StepGrub)
}

// Wanted is every argument the grub step puts on the kernel command line
// (the IOMMU's when iommu, pci=realloc when asked, those other steps want)
// and those it takes away.
func Wanted(h *host.Host, sp spec.Spec, iommu bool, others engine.KernelArgs) (add, remove []string, err error) {
	if iommu {
		add, remove, err = IOMMUArgs(h, sp)
		if err != nil {
			return nil, nil, err
		}
	}
	if sp.PCIRealloc {
		add = append(add, "pci=realloc")
	}
	add = append(add, others.All()...)
	seen := map[string]string{}
	var out []string
	for _, a := range add {
		if err := ValidateArg(a); err != nil {
			return nil, nil, engine.BadInput("kernel argument: %v", err)
		}
		k := Key(a)
		if prev, ok := seen[k]; ok {
			if prev != a {
				return nil, nil, engine.BadInput("kernel arguments %s and %s both set %s; ask for one", prev, a, k)
			}
			continue
		}
		seen[k] = a
		out = append(out, a)
	}
	return out, remove, nil
}

// ReadCmdline reads the running kernel's arguments.
func ReadCmdline(h *host.Host) ([]string, error) {
	b, err := h.ReadFile(ProcCmdline)
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(b)), nil
}
