package sriov

import (
	"context"
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

// kernel plays the kernel's part on a fixture tree. Every write goes to the
// fixture file through the real host.WriteSysfs (in place, read back); then,
// as the kernel would, a write to sriov_numvfs makes the virtfnN links, the VF
// folders and their netdevs appear one by one in a goroutine (or never, or
// the write fails with an errno), and drivers_probe rebinds a VF whose
// driver_override names a driver. The wait loop in the step is the real one:
// it polls the tree while the goroutine fills it.
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

	mu     sync.Mutex
	writes []string // "path=value", in order
	wg     sync.WaitGroup
}

func newKernel(t *testing.T, h *host.Host) *kernel {
	k := &kernel{t: t, h: h, delay: 20 * time.Millisecond}
	t.Cleanup(k.wg.Wait)
	return k
}

// step returns a step writing through the kernel, with short bounds.
func (k *kernel) step() *Step {
	s := NewStep()
	s.write = k.write
	s.WaitTimeout = 3 * time.Second
	s.Poll = 5 * time.Millisecond
	return s
}

func (k *kernel) Writes() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.writes...)
}

func (k *kernel) write(ctx context.Context, h *host.Host, p, value string, timeout time.Duration) (string, error) {
	k.mu.Lock()
	k.writes = append(k.writes, p+"="+value)
	k.mu.Unlock()
	base := filepath.Base(p)
	if base == "sriov_numvfs" && k.fail != 0 && value != "0" {
		return "", &host.SysfsError{Path: p, Value: value, Err: k.fail}
	}
	got, err := h.WriteSysfs(ctx, p, value, timeout)
	if err != nil {
		return got, err
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
		k.probe(value)
	case "unbind":
		dev := PCIDevices + "/" + value
		k.must(os.Remove(h.Path(dev + "/driver")))
		k.must(os.RemoveAll(h.Path(dev + "/net")))
	}
	return got, nil
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
	vfDriver := map[string]string{"i40e": "iavf", "mlx5_core": "mlx5_core"}[pf.Driver]
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

// bind gives a VF a driver and, when netdev is not "", a netdev.
func (k *kernel) bind(vf, driver, netdev string) {
	vd, err := filepath.EvalSymlinks(k.h.Path(PCIDevices, vf))
	k.must(err)
	k.must(os.MkdirAll(k.h.Path("/sys/bus/pci/drivers", driver), 0o755))
	k.must(os.WriteFile(k.h.Path("/sys/bus/pci/drivers", driver, "unbind"), nil, 0o644))
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

// probe binds a VF to the driver its driver_override names.
func (k *kernel) probe(vf string) {
	o, err := k.h.ReadString(PCIDevices + "/" + vf + "/driver_override")
	k.must(err)
	if o == "" || o == "(null)" || k.h.Exists(PCIDevices+"/"+vf+"/driver") {
		return
	}
	k.bind(vf, o, "")
}
