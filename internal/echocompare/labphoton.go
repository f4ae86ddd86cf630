package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/vishvananda/netns"
)

// PhotonLibOS's examples/fstack-dpdk/fstack-dpdk-demo is its echo server on
// F-Stack: photon::init with INIT_IO_FSTACK_DPDK (whose ff_init reads
// --conf=/etc/f-stack.conf, a path fixed in Photon's source), a coroutine per
// connection that reads up to 512 bytes and writes them back, on port 80
// (fixed too). Once a second it also writes two bytes to ./test_file.
//
// In the lab it runs like photonctl's fstack engine: in namespace A, on the
// lab's F-Stack config, its DPDK tap device joined to the lab's bridge. So
// that it reads the lab's config without touching the host's /etc, it runs in
// a private mount namespace (unshare --mount) in which the lab's config is
// bind-mounted over /etc/f-stack.conf. Where the host has no such file to
// mount over, /etc is first overlaid (in that namespace only) with an upper
// layer, in a scratch directory, that holds an empty one.

// serverPhotonFstack is Photon's F-Stack demo as a server name.
const serverPhotonFstack = "photon-fstack"

const (
	photonDemoPort = 80                  // fixed in the demo's source
	photonDemoConf = "/etc/f-stack.conf" // fixed in Photon's io/fstack-dpdk.cpp
	// photonDemoReadyFile is the file the demo writes in its working
	// directory, from a coroutine that runs once photon::init has returned.
	photonDemoReadyFile = "test_file"
	// The kernel interface DPDK's tap driver makes for net_tap0, and the
	// MAC photonctl run echo --tap-bridge gives it (it starts with the
	// port's own, and two ends of one bridge cannot share one).
	labTapIface = "dtap0"
	labTapMAC   = "02:00:00:00:00:aa"
)

// mountPlan is what runs in the demo's private mount namespace before it
// starts: conf bound over target, after an overlay of target's directory
// (upper and work layers under scratch, the upper one holding an empty
// target) where target does not exist.
func mountPlan(conf, target string, targetExists bool, scratch string) [][]string {
	var plan [][]string
	if !targetExists {
		dir := filepath.Dir(target)
		plan = append(plan, []string{"mount", "-t", "overlay", "overlay", "-o",
			"lowerdir=" + dir + ",upperdir=" + filepath.Join(scratch, "upper") + ",workdir=" + filepath.Join(scratch, "work"), dir})
	}
	return append(plan, []string{"mount", "--bind", conf, target})
}

// prepareScratch makes the upper and work layers mountPlan's overlay needs
// (an empty target in the upper one).
func prepareScratch(scratch, target string) error {
	if strings.ContainsAny(scratch, ",:") {
		return fmt.Errorf("scratch directory %s: an overlay layer's path cannot hold ',' or ':' (set TMPDIR to another directory)", scratch)
	}
	for _, d := range []string{"upper", "work"} {
		if err := os.MkdirAll(filepath.Join(scratch, d), 0o755); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(scratch, "upper", filepath.Base(target)), nil, 0o644)
}

// shQuote quotes s for sh.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// shScript is a sh script that runs the commands of plan, stopping at the
// first that fails, then execs argv (so that argv keeps the shell's PID,
// which the harness signals and reads the CPU time of).
func shScript(plan [][]string, argv []string) string {
	var b strings.Builder
	b.WriteString("set -e")
	for _, c := range append(plan, append([]string{"exec"}, argv...)) {
		b.WriteString("; ")
		for i, a := range c {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(shQuote(a))
		}
	}
	return b.String()
}

// inPrivateMounts is argv run in namespace ns (ip netns exec, empty: here)
// and in a private mount namespace after plan.
func inPrivateMounts(ns string, plan [][]string, argv []string) []string {
	var pre []string
	if ns != "" {
		pre = []string{"ip", "netns", "exec", ns}
	}
	return append(pre, "unshare", "--mount", "--propagation", "private", "--", "sh", "-c", shScript(plan, argv))
}

// photonDemoArgv is the command line of Photon's F-Stack demo in the lab.
func photonDemoArgv(o options, targetExists bool, scratch string) []string {
	return inPrivateMounts(labNSA, mountPlan(labConf, photonDemoConf, targetExists, scratch), []string{o.photonDemo})
}

// checkPhotonDemo says what is wrong with -photon-fstack-demo.
func checkPhotonDemo(path string) error {
	if _, err := exec.LookPath(path); err != nil {
		return fmt.Errorf("-photon-fstack-demo %s: %w (give PhotonLibOS's fstack-dpdk-demo, built with -DPHOTON_ENABLE_FSTACK_DPDK=ON and relinked against libfstack: docs/dataplane.md)", path, err)
	}
	return nil
}

// startPhotonDemo starts Photon's F-Stack demo in the lab, pinned to the
// server CPU, joins its tap interface to the lab's bridge and waits until
// it echoes a message from namespace B.
func startPhotonDemo(o options, pin pinFunc) (*server, error) {
	scratch, err := os.MkdirTemp("", "echocompare-photon-fstack")
	if err != nil {
		return nil, err
	}
	_, statErr := os.Stat(photonDemoConf)
	exists := statErr == nil
	if !exists {
		if err := prepareScratch(scratch, photonDemoConf); err != nil {
			os.RemoveAll(scratch)
			return nil, err
		}
	}
	argv := pin(o.serverCPU, photonDemoArgv(o, exists, scratch))
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = scratch // its ./test_file
	var logb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logb, &logb
	if err := cmd.Start(); err != nil {
		os.RemoveAll(scratch)
		return nil, fmt.Errorf("starting Photon's F-Stack demo: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s := &server{cmd: cmd, addr: net.JoinHostPort(labAddr, fmt.Sprint(photonDemoPort)), exited: exited, cleanup: func() { os.RemoveAll(scratch) }}
	fail := func(err error) (*server, error) {
		s.stop()
		return nil, fmt.Errorf("photon-fstack, PhotonLibOS's F-Stack demo (%s): %w; its log: %s", strings.Join(argv, " "), err, lastLines(logb.String(), 8))
	}
	// The tap interface exists before F-Stack has configured the port,
	// which gives it the port's MAC again: it joins the bridge only once
	// photon::init (and so ff_init) has returned, which the demo's first
	// write of ./test_file shows (its log on a pipe is block-buffered).
	if err := waitFor(exited, 60*time.Second, "the demo's ./test_file (photon::init done)", func() error {
		_, err := os.Stat(filepath.Join(scratch, photonDemoReadyFile))
		return err
	}); err != nil {
		return fail(err)
	}
	if out, err := exec.Command("ip", "-n", labNSA, "link", "show", labTapIface).CombinedOutput(); err != nil {
		return fail(fmt.Errorf("DPDK's tap interface %s in %s (is net_tap0 in the lab config's allow-list?): %v: %s", labTapIface, labNSA, err, out))
	}
	for _, a := range [][]string{
		{"ip", "-n", labNSA, "link", "set", labTapIface, "address", labTapMAC},
		{"ip", "-n", labNSA, "link", "set", labTapIface, "master", labBridge},
		{"ip", "-n", labNSA, "link", "set", labTapIface, "up"},
	} {
		if out, err := exec.Command(a[0], a[1:]...).CombinedOutput(); err != nil {
			return fail(fmt.Errorf("%s: %v: %s", strings.Join(a, " "), err, out))
		}
	}
	if err := waitFor(exited, 60*time.Second, "an echo from "+s.addr+" to "+labNSB, func() error {
		return echoOnceIn(labNSB, s.addr, o.size)
	}); err != nil {
		return fail(err)
	}
	return s, nil
}

// waitFor retries ready until it succeeds, the process exits or limit
// passes.
func waitFor(exited <-chan struct{}, limit time.Duration, what string, ready func() error) error {
	end := time.Now().Add(limit)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("it exited while the harness waited for %s", what)
		default:
		}
		if time.Now().After(end) {
			return fmt.Errorf("no %s within %v: %w", what, limit, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// echoOnceIn connects to addr from network namespace ns (empty: this one),
// sends size bytes and checks that the same bytes come back.
func echoOnceIn(ns, addr string, size int) error {
	return inNetns(ns, func() error { return echoOnce(addr, size) })
}

// inNetns runs f on an OS thread in network namespace ns (empty: this one):
// the sockets f opens are ns's. The thread goes back to its namespace
// afterwards; where it cannot, it stays locked, so that Go ends it (or, the
// main thread, never runs a goroutine on it again).
func inNetns(ns string, f func() error) error {
	if ns == "" {
		return f()
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("this thread's network namespace: %w", err)
			return
		}
		defer orig.Close()
		h, err := netns.GetFromName(ns)
		if err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("network namespace %s: %w", ns, err)
			return
		}
		defer h.Close()
		if err := netns.Set(h); err != nil {
			done <- fmt.Errorf("entering network namespace %s: %w", ns, err)
			return // still locked: the thread may be in neither
		}
		err = f()
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread()
		}
		done <- err
	}()
	return <-done
}

// echoOnce sends size patterned bytes to an echo server and checks the echo.
func echoOnce(addr string, size int) error {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	msg := make([]byte, size)
	for i := range msg {
		msg[i] = byte(i*7 + 3)
	}
	if _, err := c.Write(msg); err != nil {
		return err
	}
	got := make([]byte, size)
	if _, err := io.ReadFull(c, got); err != nil {
		return fmt.Errorf("reading the echo of %d bytes from %s: %w", size, addr, err)
	}
	if !bytes.Equal(got, msg) {
		return errors.New("the echo differs from the message sent")
	}
	return nil
}
