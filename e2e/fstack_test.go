package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The igb's wire in TestFstack: a tap in a namespace of the test (TapNet).
const (
	tapAddr    = "10.0.3.1/24"  // the tap, in the test's namespace: F-Stack's gateway
	pfAddr     = "10.0.3.15/24" // the PF's kernel address in the guest
	fstackAddr = "10.0.3.20/24" // F-Stack's own, on the VF
	fstackPort = "8080"
	kernelPort = "8081" // the kernel engine on the PF's address, for comparison
)

// fstackHugepages: 2 MB pages for F-Stack's pools (memory= in f-stack.conf,
// sized by setup) with room to spare in the guest's 2 GB.
const fstackHugepages = 256

// needsFstack skips, saying why, where the F-Stack scenario cannot run.
func needsFstack(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("PHOTONCTL_FSTACK")
	if bin == "" {
		t.Skip("the F-Stack scenario needs photonctl built with the F-Stack engine: make e2e FF_PATH=/path/to/f-stack " +
			"(F-Stack 1.24 built outside this repository against Debian's libdpdk-dev 22.11, with make in its lib/); " +
			"make e2e sets PHOTONCTL_FSTACK when $FF_PATH/lib/libfstack.a exists")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("PHOTONCTL_FSTACK=%s: %v", bin, err)
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skipf("the F-Stack scenario needs /dev/net/tun for the igb's tap network: %v", err)
	}
	for _, tool := range []string{"ip", "ping"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the F-Stack scenario needs %s on this machine (make e2e-deps installs it)", tool)
		}
	}
	return bin
}

// TestFstack is the seed's end state on the real (emulated) host: F-Stack
// serving on a VF of the igb through vfio-pci under the vIOMMU, with an
// address of its own, while the PF keeps its kernel address and SSH stays
// on the management NIC.
func TestFstack(t *testing.T) {
	needs(t)
	fsbin := needsFstack(t)
	s := newSuite(t)
	if s.bin == "" {
		t.Fatal("bench echo runs from the tap's namespace: give PHOTONCTL_BIN (make e2e sets it)")
	}
	wire, err := NewTapNet(fmt.Sprintf("photonctl-e2e-dp-%d", os.Getpid()), "e2edp0", tapAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(wire.Close)
	v := s.bootBareTap("fstack", "rp2", wire)
	if err := wire.Up(); err != nil {
		v.fatalf("%v", err)
	}
	b, err := os.ReadFile(fsbin)
	if err == nil {
		err = v.g.Put(b, "/usr/local/bin/photonctl", "755")
	}
	if err != nil {
		v.fatalf("installing the F-Stack photonctl in the guest: %v", err)
	}
	nics0, err := v.nics()
	if err != nil {
		v.fatalf("%v", err)
	}
	igb := nics0[IGBMAC].Name
	setupArgs := fmt.Sprintf("--pf %s --vfs 1 --vf-mac --bind-vfio --hugepages %d --names keep --fstack --fstack-addr %s --fstack-gateway %s",
		igb, fstackHugepages, fstackAddr, strings.Split(tapAddr, "/")[0])
	fsIP, pfIP := strings.Split(fstackAddr, "/")[0], strings.Split(pfAddr, "/")[0]

	v.phase("F1 the PF's kernel address on the igb's wire", func() error {
		// As an operator would: ifupdown keeps it across the reboots.
		if _, err := v.g.Must(time.Minute, fmt.Sprintf(
			"printf '\\nauto %[1]s\\niface %[1]s inet static\\n    address %[2]s\\n' >>/etc/network/interfaces && ifup %[1]s", igb, pfAddr)); err != nil {
			return err
		}
		return wire.ping(pfIP)
	})

	v.phase("F2 setup up to the reboot", func() error {
		if _, err := v.g.Must(30*time.Second, "photonctl --version"); err != nil {
			return err
		}
		_, err := v.setupWants(setupArgs, 3, "before the IOMMU reboot")
		return err
	})

	var vf string
	v.phase("F3 reboot, setup again: the VF on vfio-pci, f-stack.conf with its own address", func() error {
		if err := v.g.Reboot(6 * time.Minute); err != nil {
			return err
		}
		if _, err := v.setupWants(setupArgs, 0, "after the reboot"); err != nil {
			return err
		}
		out, err := v.g.Must(30*time.Second, fmt.Sprintf("sed -n 's/^PCI_SLOT_NAME=//p' /sys/class/net/%s/device/virtfn0/uevent", igb))
		if err != nil {
			return err
		}
		vf = strings.TrimSpace(out)
		if err := v.onVFIO(vf); err != nil {
			return err
		}
		conf, err := v.read("/etc/f-stack.conf")
		if err != nil {
			return err
		}
		for _, want := range []string{"addr=" + fsIP, "gateway=" + strings.Split(tapAddr, "/")[0], vf, "pkt_tx_delay=0", "memory="} {
			if !strings.Contains(strings.ReplaceAll(conf, " ", ""), want) {
				return fmt.Errorf("/etc/f-stack.conf lacks %q:\n%s", want, conf)
			}
		}
		t.Logf("VF %s on vfio-pci; /etc/f-stack.conf:\n%s", vf, conf)
		return wire.ping(pfIP)
	})

	v.phase("F4 doctor, then doctor --probe: not one fail", func() error {
		for _, args := range []string{"", "--probe --probe-time 30s"} {
			rep, err := v.doctor(args)
			if err != nil {
				return err
			}
			var bad []string
			probed := false
			for _, c := range rep.Checks {
				if c.Status == "fail" {
					bad = append(bad, fmt.Sprintf("%s: %s (fix: %s)", c.ID, c.Detail, c.Fix))
				}
				if c.ID == "testpmd-probe" {
					probed = true
					t.Logf("doctor %s: %s %s: %s", args, c.ID, c.Status, c.Detail)
				}
			}
			if len(bad) > 0 {
				return fmt.Errorf("doctor %s fails on the prepared F-Stack host:\n  %s", args, strings.Join(bad, "\n  "))
			}
			if args != "" && !probed {
				return fmt.Errorf("doctor %s ran no probe", args)
			}
		}
		return nil
	})

	var first benchResult
	v.phase("F5 run echo on F-Stack on the VF; bench echo from the wire; the PF and SSH still answer", func() error {
		var err error
		if first, err = v.fstackEcho(wire, fsIP, 10*time.Second); err != nil {
			return err
		}
		return nil
	})

	v.phase("F6 stopped, the VF is released; a second start serves", func() error {
		if err := v.onVFIO(vf); err != nil {
			return fmt.Errorf("after run echo stopped: %v", err)
		}
		rep, err := v.doctor("--only dpdk")
		if err != nil {
			return err
		}
		for _, c := range rep.Checks {
			if c.ID == "dpdk-stale-files" && c.Status != "ok" && c.Status != "skip" {
				return fmt.Errorf("run echo left DPDK runtime files: %s: %s", c.Status, c.Detail)
			}
		}
		_, err = v.fstackEcho(wire, fsIP, 3*time.Second)
		return err
	})

	v.phase("F7 the kernel engine on the PF's address, same wire, for scale", func() error {
		cmd := fmt.Sprintf("setsid photonctl run echo --engine kernel --listen %s:%s --stats-interval 0 >/root/kecho.log 2>&1 </dev/null & echo $! >/root/kecho.pid", pfIP, kernelPort)
		if _, err := v.g.Must(time.Minute, cmd); err != nil {
			return err
		}
		defer v.g.Run(time.Minute, nil, "kill -INT $(cat /root/kecho.pid)")
		if err := v.waitLog("/root/kecho.log", "listening on", time.Minute); err != nil {
			return err
		}
		k, err := wire.bench(s.bin, pfIP+":"+kernelPort, 10*time.Second)
		if err != nil {
			return err
		}
		t.Logf("through the emulated igb, ping-pong, 4 conns x 512 B: F-Stack on the VF %.0f msg/s (p50 %.0f us, p99 %.0f us); "+
			"the kernel on the PF %.0f msg/s (p50 %.0f us, p99 %.0f us)",
			first.QPS, first.Latency.P50, first.Latency.P99, k.QPS, k.Latency.P50, k.Latency.P99)
		return nil
	})
}

// bootBareTap boots a fresh guest whose igb is on wire.
func (s *suite) bootBareTap(name, port string, wire *TapNet) *vm {
	s.t.Helper()
	start := time.Now()
	v := s.bootBareWith(name, port, func(c *MachineConfig) { c.DPTap = wire.File })
	s.note(name+": boot", start)
	return v
}

type benchResult struct {
	Messages   uint64  `json:"messages"`
	QPS        float64 `json:"qps"`
	Mismatch   uint64  `json:"mismatched_bytes"`
	Unanswered uint64  `json:"unanswered_bytes"`
	ConnErr    uint64  `json:"conn_errors"`
	Latency    struct {
		P50, P99 float64
	} `json:"latency_us"`
}

// fstackEcho runs photonctl's echo on F-Stack in the guest, benches it
// from the wire for d with every byte checked, pings the PF's kernel
// address and runs a command over SSH while F-Stack serves, and stops the
// echo, which must exit by itself.
func (v *vm) fstackEcho(wire *TapNet, fsIP string, d time.Duration) (benchResult, error) {
	var res benchResult
	cmd := fmt.Sprintf("setsid photonctl run echo --engine fstack --conf /etc/f-stack.conf --listen %s:%s --stats-interval 0 >/root/fecho.log 2>/root/fecho.err </dev/null & echo $! >/root/fecho.pid", fsIP, fstackPort)
	if _, err := v.g.Must(time.Minute, cmd); err != nil {
		return res, err
	}
	stopped := false
	defer func() {
		if !stopped {
			v.g.Run(time.Minute, nil, "kill -KILL $(cat /root/fecho.pid)")
		}
	}()
	// DPDK's EAL and F-Stack's start under TCG take their time.
	if err := v.waitLog("/root/fecho.log", "listening on", 4*time.Minute); err != nil {
		errLog, _ := v.read("/root/fecho.err")
		return res, fmt.Errorf("%v\nits stderr:\n%s", err, errLog)
	}
	var err error
	if res, err = wire.bench(v.s.bin, fsIP+":"+fstackPort, d); err != nil {
		return res, err
	}
	v.s.t.Logf("bench echo from the wire to F-Stack on the VF: %d messages, %.0f msg/s, p50 %.0f us, p99 %.0f us",
		res.Messages, res.QPS, res.Latency.P50, res.Latency.P99)
	if err := wire.ping(strings.Split(pfAddr, "/")[0]); err != nil {
		return res, fmt.Errorf("while F-Stack serves on the VF: %v", err)
	}
	if _, err := v.g.Must(30*time.Second, "true"); err != nil {
		return res, fmt.Errorf("SSH on the management NIC while F-Stack serves: %v", err)
	}
	if _, err := v.g.Must(time.Minute, "kill -INT $(cat /root/fecho.pid); for i in $(seq 1 100); do kill -0 $(cat /root/fecho.pid) 2>/dev/null || exit 0; sleep 0.5; done; exit 1"); err != nil {
		return res, fmt.Errorf("run echo on F-Stack did not exit within 50 s of SIGINT: %v", err)
	}
	stopped = true
	if out, err := v.read("/root/fecho.log"); err != nil || !strings.Contains(out, "total") {
		return res, fmt.Errorf("run echo on F-Stack stopped without its total (%v):\n%s", err, out)
	}
	return res, nil
}

// onVFIO checks that the guest's PCI device pci is bound to vfio-pci.
func (v *vm) onVFIO(pci string) error {
	drv, err := v.g.Must(30*time.Second, "basename $(readlink /sys/bus/pci/devices/"+pci+"/driver)")
	if err != nil || strings.TrimSpace(drv) != "vfio-pci" {
		return fmt.Errorf("VF %s is on %q, want vfio-pci (%v)", pci, strings.TrimSpace(drv), err)
	}
	return nil
}

// waitLog waits up to d for a guest file to hold want.
func (v *vm) waitLog(path, want string, d time.Duration) error {
	n := int(d / (500 * time.Millisecond))
	script := fmt.Sprintf("for i in $(seq 1 %d); do grep -q '%s' %s && exit 0; sleep 0.5; done; cat %s; exit 1", n, want, path, path)
	if _, err := v.g.Must(d+30*time.Second, script); err != nil {
		return fmt.Errorf("%s did not say %q within %s: %v", path, want, d, err)
	}
	return nil
}

// ping checks that ip answers from the wire's namespace.
func (n *TapNet) ping(ip string) error {
	if out, err := n.Exec("ping", "-c", "3", "-W", "2", ip); err != nil {
		return fmt.Errorf("ping %s from the wire: %v\n%s", ip, err, out)
	}
	return nil
}

// bench runs bench echo (ping-pong, 4 connections of 512 B, every byte
// checked) from the wire's namespace against addr for d.
func (n *TapNet) bench(bin, addr string, d time.Duration) (benchResult, error) {
	var res benchResult
	out, err := n.Exec(bin, "bench", "echo", "--addr", addr, "--duration", d.String(), "--conns", "4", "--size", "512", "-o", "json")
	if err != nil {
		return res, fmt.Errorf("bench echo %s: %v\n%s", addr, err, out)
	}
	if err := json.Unmarshal(lastJSON(out), &res); err != nil {
		return res, fmt.Errorf("bench echo's JSON: %v\n%s", err, out)
	}
	if res.Messages == 0 || res.Mismatch != 0 || res.ConnErr != 0 {
		return res, fmt.Errorf("bench echo %s: %d messages, %d bytes wrong, %d connection errors (want >0, 0, 0)", addr, res.Messages, res.Mismatch, res.ConnErr)
	}
	return res, nil
}
