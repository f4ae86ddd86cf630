package sriov

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"syscall"
	"time"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/host"
)

// Sentinel errors for the causes of a failed sriov_numvfs write.
var (
	ErrNoMMIO    = errors.New("not enough PCI MMIO space for the VFs")
	ErrNoMSIX    = errors.New("MSI-X interrupt vectors exhausted")
	ErrVFsBusy   = errors.New("the VFs are in use")
	ErrLockdown  = errors.New("kernel lockdown refuses the write")
	ErrVFTimeout = errors.New("the VFs did not appear in time")
)

// writeFunc writes a sysfs attribute (host.Host.WriteSysfs).
type writeFunc func(ctx context.Context, h *host.Host, path, value string, timeout time.Duration) (string, error)

func sysfsWrite(ctx context.Context, h *host.Host, path, value string, timeout time.Duration) (string, error) {
	return h.WriteSysfs(ctx, path, value, timeout)
}

// setNumVFs writes 0 then n to the PF's sriov_numvfs (the kernel refuses to
// change a non-zero count to another non-zero one) and waits until the VFs
// are there.
func (s *Step) setNumVFs(ctx context.Context, env *engine.Env, pf PF, n int) (PF, error) {
	attr := pf.Dir() + "/sriov_numvfs"
	for _, v := range []int{0, n} {
		if v == 0 && n == 0 && pf.NumVFs == 0 {
			break
		}
		val := strconv.Itoa(v)
		got, err := s.write(ctx, env.Host, attr, val, s.WriteTimeout)
		if err != nil {
			err = explainWrite(env.Host, pf, v, err)
			if v != 0 && pf.NumVFs > 0 {
				err = fmt.Errorf("%w (the %d VFs %s had are gone: writing 0 removed them)", err, pf.NumVFs, pf.Iface())
			}
			return pf, err
		}
		if got != val {
			return pf, fmt.Errorf("wrote %s to %s but it reads back %q; see dmesg for the driver's reason", val, attr, got)
		}
		if v == n {
			break
		}
	}
	return s.waitVFs(ctx, env, pf, n)
}

// explainWrite maps the errno of a failed sriov_numvfs write to its cause and
// what to do.
func explainWrite(h *host.Host, pf PF, n int, err error) error {
	switch {
	case errors.Is(err, syscall.ENOMEM):
		return fmt.Errorf("%w (%s): %w; the BIOS left too little MMIO space for %d VFs' BARs on %s: "+
			"add pci=realloc to the kernel command line with `photonctl setup --pci-realloc`, reboot, "+
			"and run photonctl setup again (or enable \"SR-IOV support\"/\"Above 4G decoding\" in the BIOS)",
			ErrNoMMIO, pf, err, n, pf.Addr)
	case errors.Is(err, syscall.ENOSPC):
		return fmt.Errorf("%w (%s): %w; ask for fewer VFs than %d, or free interrupt vectors "+
			"(fewer queues on other NICs: ethtool -L), or raise the firmware's MSI-X per VF", ErrNoMSIX, pf, err, n)
	case errors.Is(err, syscall.EBUSY):
		return fmt.Errorf("%w (%s): %w; a VM, a DPDK process or vfio-pci holds the current VFs: "+
			"stop what uses them (lsof /dev/vfio/*, virsh list) and run photonctl setup again", ErrVFsBusy, pf, err)
	case errors.Is(err, syscall.EINVAL), errors.Is(err, syscall.EPERM):
		if mode, on := LockedDown(h); on {
			return fmt.Errorf("%w (%s is [%s]): %w; boot without lockdown (Secure Boot policy, lockdown= on the kernel command line) "+
				"to change VFs on %s", ErrLockdown, LockdownPath, mode, err, pf)
		}
		if errors.Is(err, syscall.EPERM) {
			return fmt.Errorf("%s: %w; run photonctl setup as root", pf, err)
		}
		return fmt.Errorf("%s refused %d VFs: %w; the driver may support fewer than sriov_totalvfs says, "+
			"or need its firmware changed: see dmesg", pf, n, err)
	case errors.Is(err, host.ErrTimeout):
		return fmt.Errorf("%s: %w; the driver is stuck (see dmesg); a reboot may be needed before VFs can be changed", pf, err)
	}
	return fmt.Errorf("%s: %w", pf, err)
}

// waitVFs polls sysfs until the PF has n virtfn links and, where the kernel
// probes drivers for new VFs (sriov_drivers_autoprobe), each VF has a netdev
// or a driver without one (vfio-pci). It reports progress and gives up after
// s.WaitTimeout.
func (s *Step) waitVFs(ctx context.Context, env *engine.Env, pf PF, n int) (PF, error) {
	start := time.Now()
	deadline := start.Add(s.WaitTimeout)
	last := ""
	lastPrint := time.Time{}
	tick := time.NewTicker(s.Poll)
	defer tick.Stop()
	for {
		// sysfs only: the names do not change, and parsing pci.ids at
		// every poll would cost more than the wait.
		cur, err := readPF(env.Host, pf.Addr)
		if err != nil {
			return pf, err
		}
		cur.Vendor, cur.Device = pf.Vendor, pf.Device
		links, ready := vfsReady(cur)
		if links == n && (ready == n || !cur.Autoprobe) {
			return cur, nil
		}
		state := fmt.Sprintf("%d/%d VFs, %d/%d with a netdev", links, n, ready, n)
		// A line when the count changes (at most one a second: 64 VFs appear
		// fast) and every 5 seconds while nothing moves.
		if lastPrint.IsZero() || (state != last && time.Since(lastPrint) >= time.Second) || time.Since(lastPrint) >= 5*time.Second {
			env.Progressf("sriov: waiting for the VFs of %s: %s (%s of %s)", pf.Iface(), state,
				time.Since(start).Round(time.Second), s.WaitTimeout)
			last, lastPrint = state, time.Now()
		}
		if time.Now().After(deadline) {
			return cur, fmt.Errorf("%w: %s has %s %s after writing %d to sriov_numvfs: the VF driver "+
				"(iavf, mlx5_core, ...) may be missing or slow: check lsmod and dmesg, then run photonctl setup again",
				ErrVFTimeout, pf, state, s.WaitTimeout, n)
		}
		select {
		case <-ctx.Done():
			return cur, fmt.Errorf("waiting for the VFs of %s: %w", pf, ctx.Err())
		case <-tick.C:
		}
	}
}

// vfsReady counts the VF links and the VFs that are usable: with a netdev, or
// bound to a driver that has none (vfio-pci).
func vfsReady(pf PF) (links, ready int) {
	for _, v := range pf.VFs {
		links++
		if len(v.Netdevs) > 0 || v.Driver == "vfio-pci" {
			ready++
		}
	}
	return links, ready
}
