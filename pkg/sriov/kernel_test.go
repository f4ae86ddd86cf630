package sriov

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/photonctl/photonctl/pkg/host"
)

// kernel plays the kernel's part on a fixture tree, behind the real
// host.WriteSysfs (host.PlayKernel): a write lands in the fixture file and
// takes its effect inside the write, as the kernel's store method does; a
// write to sriov_numvfs makes the virtfnN links, the VF folders and their
// netdevs appear one by one in a goroutine (or never, or the write fails
// with an errno); unbind detaches the driver (the device's driver link and
// its netdevs go, so .../driver/unbind no longer exists), and drivers_probe
// binds a VF whose driver_override names a loaded driver. Write-only
// triggers (unbind, bind, new_id, remove_id, drivers_probe) cannot be read,
// as on a real kernel. The wait loop in the step is the real one: it polls
// the tree while the goroutine fills it.
type kernel struct {
	t *testing.T
	h *host.Host
	// fail, when set, fails every non-zero sriov_numvfs write with this errno
	// before touching the file.
	fail syscall.Errno
	// never: the write succeeds but no VF appears.
	never bool
	// noNetdev: the VFs appear without a netdev (no VF driver).
	noNetdev bool
	// delay between VFs appearing.
	delay time.Duration
	// vfioRefuses: vfio-pci is loaded but its probe fails (no IOMMU group,
	// the IOMMU off), so drivers_probe leaves a VF without a driver.
	vfioRefuses bool

	mu     sync.Mutex
	writes []string // "path=value", in order
	wg     sync.WaitGroup
}

func newKernel(t *testing.T, h *host.Host) *kernel {
	k := &kernel{t: t, h: h, delay: 20 * time.Millisecond}
	t.Cleanup(k.wg.Wait)
	h.PlayKernel(k)
	return k
}

// step returns a step with short bounds; its writes reach the kernel
// through host.WriteSysfs.
func (k *kernel) step() *Step {
	s := NewStep()
	s.WaitTimeout = 3 * time.Second
	s.Poll = 5 * time.Millisecond
	return s
}

func (k *kernel) Writes() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.writes...)
}

// open opens the attribute the way the kernel's VFS does: every link on
// the way followed as it is now (a driver link removed by an unbind is
// gone), never through a cache.
func (k *kernel) open(p string) (*os.File, error) {
	return os.OpenFile(filepath.Join(k.h.Root(), p), os.O_WRONLY|os.O_TRUNC, 0)
}

// Store is the attribute's store method.
func (k *kernel) Store(p, value string) error {
	k.mu.Lock()
	k.writes = append(k.writes, p+"="+value)
	k.mu.Unlock()
	base := filepath.Base(p)
	if base == "sriov_numvfs" && k.fail != 0 && value != "0" {
		return k.fail
	}
	f, err := k.open(p)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	switch base {
	case "sriov_numvfs":
		pf := filepath.Base(filepath.Dir(p))
		n, _ := strconv.Atoi(value)
		k.removeVFs(pf)
		if n > 0 && !k.never {
			k.wg.Add(1)
			go func() {
				defer k.wg.Done()
				k.addVFs(pf, n)
			}()
		}
	case "drivers_probe":
		if !k.h.Exists(PCIDevices + "/" + value) {
			return syscall.ENODEV
		}
		k.probe(value)
	case "unbind":
		// The kernel detaches the device only from the driver whose
		// folder the write went to.
		drv, err := filepath.EvalSymlinks(filepath.Dir(filepath.Join(k.h.Root(), p)))
		if err != nil {
			return err
		}
		dev := PCIDevices + "/" + value
		cur, err := filepath.EvalSymlinks(filepath.Join(k.h.Root(), dev, "driver"))
		if err != nil || cur != drv {
			return syscall.ENODEV
		}
		k.must(os.Remove(filepath.Join(k.pciDir(value), "driver")))
		ents, _ := os.ReadDir(filepath.Join(k.pciDir(value), "net"))
		for _, e := range ents {
			k.must(os.Remove(k.h.Path("/sys/class/net", e.Name())))
		}
		k.must(os.RemoveAll(filepath.Join(k.pciDir(value), "net")))
	}
	return nil
}

// Show is the attribute's show method: write-only triggers have none, so
// opening one for reading fails (once the path still leads to it).
func (k *kernel) Show(p string) (string, error) {
	full := filepath.Join(k.h.Root(), p)
	if _, err := os.Stat(full); err != nil {
		return "", &os.PathError{Op: "open", Path: p, Err: syscall.ENOENT}
	}
	if host.WriteOnly(p) {
		return "", &os.PathError{Op: "open", Path: p, Err: syscall.EACCES}
	}
	b, err := os.ReadFile(full)
	return strings.TrimSpace(string(b)), err
}

// pciDir is a PCI device's real folder under the root.
func (k *kernel) pciDir(addr string) string {
	d, err := filepath.EvalSymlinks(filepath.Join(k.h.Root(), PCIDevices, addr))
	if err != nil {
		k.t.Errorf("kernel: %v", err)
	}
	return d
}

func (k *kernel) must(err error) {
	if err != nil {
		k.t.Errorf("kernel: %v", err)
	}
}

// pfDir is the PF's real folder under the root (the link target).
func (k *kernel) pfDir(pf string) string {
	d, err := filepath.EvalSymlinks(k.h.Path(PCIDevices, pf))
	if err != nil {
		k.t.Fatalf("kernel: %v", err)
	}
	return d
}

func (k *kernel) removeVFs(pf string) {
	dir := k.pfDir(pf)
	links, _ := filepath.Glob(filepath.Join(dir, "virtfn*"))
	for _, l := range links {
		t, err := os.Readlink(l)
		k.must(err)
		vf := filepath.Base(t)
		ents, _ := os.ReadDir(filepath.Join(dir, "..", vf, "net"))
		for _, e := range ents {
			k.must(os.Remove(k.h.Path("/sys/class/net", e.Name())))
		}
		k.must(os.RemoveAll(filepath.Join(filepath.Dir(dir), vf)))
		k.must(os.Remove(k.h.Path(PCIDevices, vf)))
		k.must(os.Remove(l))
	}
}

func (k *kernel) addVFs(pfAddr string, n int) {
	pf, err := DiscoverPF(k.h, pfAddr)
	if err != nil {
		k.t.Errorf("kernel: %v", err)
		return
	}
	addrs, err := VFAddrs(pf, n)
	if err != nil {
		k.t.Errorf("kernel: %v", err)
		return
	}
	dir := k.pfDir(pfAddr)
	parent := filepath.Dir(dir)
	rel, _ := filepath.Rel(k.h.Path("/sys"), parent)
	vfDriver := vfDrivers[pf.Driver]
	for i, a := range addrs {
		time.Sleep(k.delay)
		vd := filepath.Join(parent, a)
		k.must(os.MkdirAll(vd, 0o755))
		files := map[string]string{"vendor": "0x" + pf.VendorID, "device": "0x154c", "class": "0x020000", "driver_override": "(null)"}
		for f, v := range files {
			k.must(os.WriteFile(filepath.Join(vd, f), []byte(v+"\n"), 0o644))
		}
		k.must(os.Symlink("../"+pfAddr, filepath.Join(vd, "physfn")))
		k.must(os.Symlink("../../../"+rel+"/"+a, k.h.Path(PCIDevices, a)))
		if !k.noNetdev {
			k.bind(a, vfDriver, fmt.Sprintf("%sv%d", pf.Iface(), i))
		}
		// The link comes last: the step must not see a VF before its folder.
		k.must(os.Symlink("../"+a, filepath.Join(dir, fmt.Sprintf("virtfn%d", i))))
	}
}

// vfDrivers is the VF driver of each PF driver.
var vfDrivers = map[string]string{"i40e": "iavf", "igb": "igbvf", "ixgbe": "ixgbevf", "mlx5_core": "mlx5_core"}

// bind gives a VF a driver and, when netdev is not "", a netdev.
func (k *kernel) bind(vf, driver, netdev string) {
	vd, err := filepath.EvalSymlinks(k.h.Path(PCIDevices, vf))
	k.must(err)
	k.must(os.MkdirAll(k.h.Path("/sys/bus/pci/drivers", driver), 0o755))
	for _, f := range []string{"bind", "unbind", "new_id", "remove_id"} {
		k.must(os.WriteFile(k.h.Path("/sys/bus/pci/drivers", driver, f), nil, 0o200))
	}
	depth := strings.Count(strings.TrimPrefix(vd, k.h.Path("/sys")+"/"), "/") + 1
	k.must(os.Symlink(strings.Repeat("../", depth)+"bus/pci/drivers/"+driver, filepath.Join(vd, "driver")))
	if netdev == "" {
		return
	}
	nd := filepath.Join(vd, "net", netdev)
	k.must(os.MkdirAll(nd, 0o755))
	k.must(os.WriteFile(filepath.Join(nd, "operstate"), []byte("down\n"), 0o644))
	k.must(os.WriteFile(filepath.Join(nd, "address"), []byte("00:00:00:00:00:00\n"), 0o644))
	rel, _ := filepath.Rel(k.h.Path("/sys/class/net"), nd)
	k.must(os.Symlink(rel, k.h.Path("/sys/class/net", netdev)))
}

// probe binds a VF without a driver to the driver its driver_override
// names, when that driver is loaded, or with no override to the VF driver
// of its PF's driver.
func (k *kernel) probe(vf string) {
	if _, err := os.Lstat(filepath.Join(k.pciDir(vf), "driver")); err == nil {
		return
	}
	b, err := os.ReadFile(filepath.Join(k.pciDir(vf), "driver_override"))
	k.must(err)
	o := strings.TrimSpace(string(b))
	if o == "" || o == "(null)" {
		pf, err := os.Readlink(filepath.Join(k.pciDir(vf), "physfn"))
		if err != nil {
			return
		}
		pd, _ := os.Readlink(filepath.Join(k.pciDir(filepath.Base(pf)), "driver"))
		if d := vfDrivers[filepath.Base(pd)]; d != "" {
			k.bind(vf, d, vf+"-netdev")
		}
		return
	}
	if o == VFIODriver && k.vfioRefuses {
		return
	}
	if _, err := os.Stat(filepath.Join(k.h.Root(), "sys/bus/pci/drivers", o)); err != nil {
		return
	}
	k.bind(vf, o, "")
}
