package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// TapNet is the igb's network when a scenario must reach the guest's
// dataplane NIC from outside, not only through QEMU's user-mode NAT: a tap
// device in a network namespace of its own, made for the test and gone
// with it. QEMU gets the tap as an open file (-netdev tap,fd=3), so the
// device lives in the namespace and the machine's own network never sees
// it. Programs reach the guest's wire with `ip netns exec NS`.
type TapNet struct {
	NS   string   // the namespace, for ip netns exec
	Dev  string   // the tap's name in it
	Addr string   // its address, CIDR
	File *os.File // the tap's queue, handed to QEMU
}

// NewTapNet creates namespace ns with a tap dev in it. The tap has addr
// (CIDR) once QEMU holds its file and Up is called. Close removes it all.
func NewTapNet(ns, dev, addr string) (*TapNet, error) {
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		return nil, fmt.Errorf("the tap network needs /dev/net/tun: %w", err)
	}
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ip netns add %s: %w: %s", ns, err, out)
	}
	n := &TapNet{NS: ns, Dev: dev, Addr: addr}
	f, err := openTapIn(ns, dev)
	if err != nil {
		n.Close()
		return nil, err
	}
	n.File = f
	return n, nil
}

// openTapIn opens /dev/net/tun on a thread moved into namespace ns and
// attaches it to a new tap device dev, which is created there. The device
// lasts while a file holds it (QEMU's copy, after Start).
func openTapIn(ns, dev string) (*os.File, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return nil, fmt.Errorf("this thread's network namespace: %w", err)
	}
	defer orig.Close()
	target, err := netns.GetFromName(ns)
	if err != nil {
		return nil, fmt.Errorf("namespace %s: %w", ns, err)
	}
	defer target.Close()
	if err := netns.Set(target); err != nil {
		return nil, fmt.Errorf("entering namespace %s: %w", ns, err)
	}
	// Back to the thread's namespace whatever happens; a thread that
	// cannot go back must not serve other goroutines, so it stays locked
	// and dies with them.
	defer func() {
		if err := netns.Set(orig); err != nil {
			panic(fmt.Sprintf("cannot return to the original network namespace: %v", err))
		}
	}()
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(dev)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tap name %q: %w", dev, err)
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("TUNSETIFF %s in %s: %w", dev, ns, err)
	}
	return os.NewFile(uintptr(fd), "/dev/net/tun:"+dev), nil
}

// Up gives the tap its address and brings it (and lo) up in the namespace.
func (n *TapNet) Up() error {
	for _, args := range [][]string{
		{"-n", n.NS, "link", "set", "lo", "up"},
		{"-n", n.NS, "addr", "add", n.Addr, "dev", n.Dev},
		{"-n", n.NS, "link", "set", n.Dev, "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// Exec runs argv in the namespace and returns its output (stdout and
// stderr kept apart: stdout is returned, stderr goes into the error).
func (n *TapNet) Exec(argv ...string) ([]byte, error) {
	cmd := exec.Command("ip", append([]string{"netns", "exec", n.NS}, argv...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s in namespace %s: %w: %s", strings.Join(argv, " "), n.NS, err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// Close drops the tap and the namespace.
func (n *TapNet) Close() {
	if n.File != nil {
		n.File.Close()
		n.File = nil
	}
	_ = exec.Command("ip", "netns", "delete", n.NS).Run()
}
