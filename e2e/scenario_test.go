package e2e

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// iommuArgs are what setup writes for an Intel CPU.
var iommuArgs = []string{"intel_iommu=on", "iommu=pt"}

// expectedDoctorFails are the checks that fail on this guest by design,
// with the reason: the guest has DPDK (Debian's dpdk-dev) but no F-Stack,
// and the packaged photonctl has none linked in (TestFstack, with a
// photonctl built with F-Stack, expects no fail at all).
var expectedDoctorFails = map[string]string{
	"libfstack":       "the guest has no F-Stack, and the packaged photonctl has none linked in",
	"fstackconf-file": "no /etc/f-stack.conf: the scenario does not ask for the fstack step",
}

// TestGuest is the whole procedure on a real (emulated) host.
func TestGuest(t *testing.T) {
	s := newSuite(t)
	t.Run("sriov", s.scenarioSRIOV)
	t.Run("names-scripts", s.scenarioNamesScripts)
}

// scenarioSRIOV: setup across the IOMMU reboot, a boot without photonctl,
// the echo dataplane, the card moving to another slot, and rollback.
func (s *suite) scenarioSRIOV(t *testing.T) {
	s.t = t
	v := s.boot("sriov", "rp2")
	nics0, err := v.nics()
	if err != nil {
		v.fatalf("%v", err)
	}
	igb, mgmt := nics0[IGBMAC].Name, nics0[MgmtMAC].Name
	t.Logf("guest NICs: management %s (%s), igb %s (%s)", mgmt, nics0[MgmtMAC].PCI, igb, nics0[IGBMAC].PCI)
	grubDefault0, err := v.read("/etc/default/grub")
	if err != nil {
		v.fatalf("%v", err)
	}
	setupArgs := fmt.Sprintf("--pf %s --vfs 4 --hugepages 64 --names keep --bind-vfio", igb)

	v.phase("1 doctor, then setup up to the reboot", func() error {
		if _, err := v.doctor(""); err != nil {
			return err
		}
		if _, err := v.setupWants(setupArgs, 3, "before the IOMMU reboot"); err != nil {
			return err
		}
		cmdline, err := v.grubDefaultCmdline()
		if err != nil {
			return err
		}
		if miss := missingTokens(cmdline, iommuArgs...); len(miss) > 0 {
			return fmt.Errorf("/etc/default/grub: GRUB_CMDLINE_LINUX=%q lacks %v", cmdline, miss)
		}
		lines, err := v.grubLinuxLines()
		if err != nil {
			return err
		}
		for _, l := range lines {
			if miss := missingTokens(l, iommuArgs...); len(miss) > 0 {
				return fmt.Errorf("grub.cfg was not regenerated: its kernel line %q lacks %v", strings.TrimSpace(l), miss)
			}
		}
		return nil
	})

	v.phase("2 reboot: IOMMU on, names kept", func() error {
		if err := v.g.Reboot(6 * time.Minute); err != nil {
			return err
		}
		cmdline, err := v.read("/proc/cmdline")
		if err != nil {
			return err
		}
		if miss := missingTokens(cmdline, iommuArgs...); len(miss) > 0 {
			return fmt.Errorf("/proc/cmdline %q lacks %v: GRUB did not boot the line setup wrote", cmdline, miss)
		}
		groups, err := v.g.Must(30*time.Second, "ls /sys/kernel/iommu_groups | wc -l")
		if err != nil {
			return err
		}
		if n, _ := strconv.Atoi(strings.TrimSpace(groups)); n == 0 {
			return fmt.Errorf("no IOMMU groups in /sys/kernel/iommu_groups after the reboot")
		}
		return v.sameNames(nics0, false)
	})

	v.phase("3 setup after the reboot: VFs, vfio-pci, hugepages", func() error {
		if _, err := v.setupWants(setupArgs, 0, "after the reboot"); err != nil {
			return err
		}
		return v.dataplaneReady(igb)
	})

	v.phase("4 doctor: no fail but the software the guest lacks", func() error {
		return v.doctorClean()
	})

	v.phase("5 reboot: VFs, vfio-pci and hugepages come back without photonctl", func() error {
		if err := v.g.Reboot(6 * time.Minute); err != nil {
			return err
		}
		if err := v.sameNames(nics0, false); err != nil {
			return err
		}
		return v.dataplaneReady(igb)
	})

	v.phase("6 setup again: every step ok, nothing changed", func() error {
		rep, err := v.setupWants(setupArgs, 0, "on a prepared host")
		if err != nil {
			return err
		}
		for _, st := range rep.Steps {
			if st.Status != "ok" && st.Status != "skipped" {
				return fmt.Errorf("step %s is %q on a prepared host (want ok): %s", st.Name, st.Status, st.Message)
			}
		}
		return nil
	})

	v.phase("7 run echo in the guest, bench echo from outside", func() error {
		return v.echo()
	})

	v.phase("8 the card moves to another slot: cold boot, the VFs follow it", func() error {
		return v.moveCard(nics0, igb)
	})

	v.phase("9 rollback, reboot: the host as it was", func() error {
		return v.rollbackAll(grubDefault0)
	})
}

// sameNames checks every NIC of before still has its name; with moved, the
// igb's PCI address must have changed (the card moved) and its name not.
func (v *vm) sameNames(before map[string]nic, moved bool) error {
	now, err := v.nics()
	if err != nil {
		return err
	}
	for mac, b := range before {
		n, ok := now[mac]
		if !ok {
			return fmt.Errorf("the NIC with MAC %s (%s) is gone", mac, b.Name)
		}
		if n.Name != b.Name {
			return fmt.Errorf("the NIC with MAC %s was %s and is now %s: its name was not kept", mac, b.Name, n.Name)
		}
		if moved && mac == IGBMAC && n.PCI == b.PCI {
			return fmt.Errorf("the igb is still at %s: the card did not move", n.PCI)
		}
	}
	return nil
}

// dataplaneReady checks 4 VFs on the PF, one of them on vfio-pci, 64 pages.
func (v *vm) dataplaneReady(pf string) error {
	numvfs, err := v.read("/sys/class/net/" + pf + "/device/sriov_numvfs")
	if err != nil {
		return err
	}
	if numvfs != "4" {
		return fmt.Errorf("sriov_numvfs of %s is %s, want 4", pf, numvfs)
	}
	drivers, err := v.g.Must(30*time.Second, "for f in /sys/class/net/"+pf+"/device/virtfn*; do echo $(basename $(readlink -f $f)) $(basename $(readlink $f/driver 2>/dev/null || echo none)); done")
	if err != nil {
		return err
	}
	if !strings.Contains(drivers, " vfio-pci") {
		return fmt.Errorf("no VF of %s is bound to vfio-pci:\n%s", pf, drivers)
	}
	pages, err := v.read("/proc/sys/vm/nr_hugepages")
	if err != nil {
		return err
	}
	if pages != "64" {
		return fmt.Errorf("nr_hugepages is %s, want 64", pages)
	}
	return nil
}

// doctorClean runs doctor and fails on any fail it does not expect.
func (v *vm) doctorClean() error {
	rep, err := v.doctor("")
	if err != nil {
		return err
	}
	var bad []string
	for _, c := range rep.Checks {
		if c.Status != "fail" {
			continue
		}
		if why, ok := expectedDoctorFails[c.ID]; ok {
			v.s.t.Logf("doctor: %s fails as expected (%s)", c.ID, why)
			continue
		}
		bad = append(bad, fmt.Sprintf("%s: %s (fix: %s)", c.ID, c.Detail, c.Fix))
	}
	if len(bad) > 0 {
		return fmt.Errorf("doctor fails where it should not:\n  %s", strings.Join(bad, "\n  "))
	}
	return nil
}

// echo starts run echo in the guest and benches it from this machine
// through the forwarded port, every byte checked.
func (v *vm) echo() error {
	if _, err := v.g.Must(time.Minute, "setsid photonctl run echo --engine kernel --listen 0.0.0.0:8080 --stats-interval 0 >/root/echo.log 2>&1 </dev/null & echo $! >/root/echo.pid"); err != nil {
		return err
	}
	defer v.g.Run(time.Minute, nil, "kill -INT $(cat /root/echo.pid)")
	if _, err := v.g.Must(time.Minute, "for i in $(seq 1 100); do grep -q 'listening on' /root/echo.log && exit 0; sleep 0.3; done; cat /root/echo.log; exit 1"); err != nil {
		return fmt.Errorf("run echo did not start: %v", err)
	}
	bin := v.s.bin
	if bin == "" {
		return fmt.Errorf("bench echo runs from this machine: give PHOTONCTL_BIN too")
	}
	out, err := exec.Command(bin, "bench", "echo", "--addr", fmt.Sprintf("127.0.0.1:%d", v.cfg.EchoPort),
		"--duration", "3s", "--conns", "4", "--size", "512", "-o", "json").Output()
	if err != nil {
		return fmt.Errorf("bench echo from this machine: %v\n%s", err, out)
	}
	var res struct {
		Messages   uint64 `json:"messages"`
		Mismatch   uint64 `json:"mismatched_bytes"`
		Unanswered uint64 `json:"unanswered_bytes"`
	}
	if err := json.Unmarshal(lastJSON(out), &res); err != nil {
		return fmt.Errorf("bench echo's JSON: %v\n%s", err, out)
	}
	v.s.t.Logf("bench echo through the forwarded port: %s", jsonLine(lastJSON(out)))
	if res.Messages == 0 || res.Mismatch != 0 {
		return fmt.Errorf("bench echo: %d messages, %d bytes wrong (want >0 and 0)", res.Messages, res.Mismatch)
	}
	return nil
}

// lastJSON returns the last JSON document of out (one object, maybe
// indented, after any progress lines).
func lastJSON(out []byte) []byte {
	s := string(out)
	if i := strings.LastIndex(s, "\n{"); i >= 0 {
		return []byte(s[i+1:])
	}
	return out
}

// moveCard powers the guest off, puts the igb behind another root port
// (a new PCI address) and cold-boots it.
func (v *vm) moveCard(nics0 map[string]nic, igb string) error {
	_, _ = v.g.Run(30*time.Second, nil, "systemctl poweroff")
	if err := v.m.WaitExit(3 * time.Minute); err != nil {
		v.m.Stop()
		return err
	}
	v.cfg.IGBPort = "rp3"
	v.start()
	if err := v.sameNames(nics0, true); err != nil {
		return err
	}
	// The VFs follow the card (the boot unit finds the PF by its permanent
	// MAC), bound to vfio-pci as before, and doctor agrees.
	if err := v.dataplaneReady(igb); err != nil {
		return fmt.Errorf("after the card moved to %s: %v", v.cfg.IGBPort, err)
	}
	rep, err := v.doctor("--only sriov")
	if err != nil {
		return err
	}
	for _, c := range rep.Checks {
		if c.Status == "fail" {
			return fmt.Errorf("doctor --only sriov after the card moved: %s fails: %s (fix: %s)", c.ID, c.Detail, c.Fix)
		}
	}
	return nil
}

// rollbackAll rolls back every change set, newest first, reboots and checks
// the IOMMU arguments are gone and /etc/default/grub is as it was.
func (v *vm) rollbackAll(grubDefault0 string) error {
	r, err := v.photonctl(time.Minute, "rollback --list -o json")
	if err != nil {
		return err
	}
	var list struct {
		Backups []struct {
			ID string `json:"id"`
		} `json:"backups"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &list); err != nil {
		return fmt.Errorf("rollback --list: %v\n%s", err, r)
	}
	ids := make([]string, 0, len(list.Backups))
	for _, b := range list.Backups {
		ids = append(ids, b.ID)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(ids)))
	if len(ids) == 0 {
		return fmt.Errorf("rollback --list shows no change sets after setup")
	}
	for _, id := range ids {
		r, err := v.photonctl(15*time.Minute, "rollback --id "+id)
		if err != nil {
			return err
		}
		if r.Exit != 0 {
			return fmt.Errorf("rollback --id %s: %s", id, r)
		}
	}
	now, err := v.read("/etc/default/grub")
	if err != nil {
		return err
	}
	if now != grubDefault0 {
		return fmt.Errorf("/etc/default/grub after rollback differs from before setup:\n%s\n--- was\n%s", now, grubDefault0)
	}
	if err := v.g.Reboot(6 * time.Minute); err != nil {
		return err
	}
	cmdline, err := v.read("/proc/cmdline")
	if err != nil {
		return err
	}
	if found := hasAnyToken(cmdline, iommuArgs...); len(found) > 0 {
		return fmt.Errorf("after rollback and a reboot /proc/cmdline still has %v: grub.cfg was not regenerated (%q)", found, cmdline)
	}
	// Nothing setup made is left to act at boot: no unit, no rules, no
	// sysctl file; so no VFs and no hugepages after the reboot.
	left, err := v.g.Must(30*time.Second, `ls -d /etc/systemd/system/photonctl-* /etc/systemd/system/*.wants/photonctl-* /etc/udev/rules.d/*photonctl* /etc/udev/rules.d/85-net-persistent-names.rules /etc/sysctl.d/*photonctl* 2>/dev/null; true`)
	if err != nil {
		return err
	}
	if strings.TrimSpace(left) != "" {
		return fmt.Errorf("after rollback these files setup made are still there:\n%s", left)
	}
	for path, want := range map[string]string{"/proc/sys/vm/nr_hugepages": "0"} {
		got, err := v.read(path)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("after rollback and a reboot %s is %s, want %s", path, got, want)
		}
	}
	vfs, err := v.g.Must(30*time.Second, `cat /sys/class/net/*/device/sriov_numvfs 2>/dev/null | sort -u`)
	if err != nil {
		return err
	}
	if strings.TrimSpace(vfs) != "0" {
		return fmt.Errorf("after rollback and a reboot a PF still has VFs (sriov_numvfs: %q)", vfs)
	}
	return nil
}

// scenarioNamesScripts: a host whose network configuration names an
// interface by a name it will not have after the next boot; setup --names
// scripts rewrites it to the name udev really gives, and the guest is still
// reachable over SSH after the reboot.
func (s *suite) scenarioNamesScripts(t *testing.T) {
	s.t = t
	v := s.boot("scripts", "rp2")
	nics0, err := v.nics()
	if err != nil {
		v.fatalf("%v", err)
	}
	mgmt := nics0[MgmtMAC].Name
	v.phase("10a the management NIC renamed at run time to mgmt0", func() error {
		// Renamed the way an admin or an old rule would: the configuration
		// says mgmt0, a name udev will not give at the next boot.
		script := fmt.Sprintf(`sed -i 's/\b%[1]s\b/mgmt0/g' /etc/network/interfaces &&
setsid sh -c 'sleep 1; ip link set %[1]s down; ip link set %[1]s name mgmt0; ip link set mgmt0 up; ip route replace default via 10.0.2.2 dev mgmt0' >/dev/null 2>&1 </dev/null &`, mgmt)
		if _, err := v.g.Must(time.Minute, script); err != nil {
			return err
		}
		time.Sleep(5 * time.Second)
		if err := v.g.WaitUp(2 * time.Minute); err != nil {
			return err
		}
		n, err := v.nics()
		if err != nil {
			return err
		}
		if n[MgmtMAC].Name != "mgmt0" {
			return fmt.Errorf("the management NIC is %s, want mgmt0", n[MgmtMAC].Name)
		}
		return nil
	})
	v.phase("10b setup --names scripts rewrites the configuration; reboot; still reachable", func() error {
		_, r, err := v.setup("--only names --names scripts")
		if err != nil {
			return err
		}
		if r.Exit != 0 && r.Exit != 3 {
			return fmt.Errorf("setup --only names --names scripts: %s", r)
		}
		conf, err := v.read("/etc/network/interfaces")
		if err != nil {
			return err
		}
		if len(missingTokens(conf, mgmt)) > 0 || len(hasAnyToken(conf, "mgmt0")) > 0 {
			return fmt.Errorf("/etc/network/interfaces should name %s (the name udev gives) and not mgmt0:\n%s", mgmt, conf)
		}
		if err := v.g.Reboot(6 * time.Minute); err != nil {
			return fmt.Errorf("the guest was not reachable after the reboot (its network configuration is wrong?): %v", err)
		}
		return v.sameNames(nics0, false)
	})
}
