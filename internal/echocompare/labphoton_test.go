package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// namedNetns creates a throwaway named network namespace (ip netns add) with
// lo up, deleted at cleanup. It skips without root or ip.
func namedNetns(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a throwaway named network namespace (ip netns add)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip (iproute2)")
	}
	name := fmt.Sprintf("echocompare-test-%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("needs named network namespaces: ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	if out, err := exec.Command("ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip -n %s link set lo up: %v: %s", name, err, out)
	}
	return name
}

// listenIn listens on 127.0.0.1:0 in namespace ns and echoes what comes in.
func listenIn(t *testing.T, ns string) net.Listener {
	t.Helper()
	got := make(chan any, 1)
	if err := inNetns(ns, func() error {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		got <- l
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	switch v := (<-got).(type) {
	case net.Listener:
		t.Cleanup(func() { v.Close() })
		go func() {
			for {
				c, err := v.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					b := make([]byte, 4096)
					for {
						n, err := c.Read(b)
						if err != nil {
							return
						}
						c.Write(b[:n])
					}
				}()
			}
		}()
		return v
	case error:
		t.Fatal(v)
	}
	return nil
}

// echoOnceIn and echoedTo reach into a named namespace: the probe the
// harness waits on Photon's demo with, and the byte count of net-perf's
// client in the lab's namespace B.
func TestEchoInNamedNetns(t *testing.T) {
	ns := namedNetns(t)
	l := listenIn(t, ns)
	addr := l.Addr().String()
	// Many times: a thread left in ns would, sooner or later, be the main
	// one, whose namespace /proc/self/net shows (checked at the end).
	for i := 0; i < 20; i++ {
		if err := echoOnceIn(ns, addr, 512); err != nil {
			t.Fatalf("echoOnceIn(%s, %s): %v", ns, addr, err)
		}
	}
	// From this namespace the same address has no such server.
	if err := echoOnceIn("", addr, 512); err == nil {
		t.Errorf("echoOnceIn in this namespace reached %s, a server in %s", addr, ns)
	}
	// A connection opened in ns, kept open while echoedTo counts.
	port := l.Addr().(*net.TCPAddr).Port
	var c net.Conn
	if err := inNetns(ns, func() (err error) {
		c, err = net.Dial("tcp", addr)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := []byte(strings.Repeat("x", 3000))
	c.Write(msg)
	buf := make([]byte, len(msg))
	for n := 0; n < len(msg); {
		m, err := c.Read(buf[n:])
		if err != nil {
			t.Fatal(err)
		}
		n += m
	}
	got, conns, err := echoedTo(ns, port)
	if err != nil || got != uint64(len(msg)) || conns != 1 {
		t.Errorf("echoedTo(%s, %d) = %d bytes, %d conns, %v; want %d, 1", ns, port, got, conns, err, len(msg))
	}
	if _, _, err := echoedTo("", port); err == nil {
		t.Errorf("echoedTo in this namespace found connections to port %d, which are in %s", port, ns)
	}
	// Every thread is back: the process's own /proc/self/net is this
	// namespace's (a listener here is found), on the main thread too.
	l2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if _, err := listenPort(os.Getpid()); err != nil {
		t.Errorf("after the namespace calls: %v", err)
	}
}

// The plan mounts over an existing file directly, and overlays its
// directory first where there is none to mount over.
func TestMountPlan(t *testing.T) {
	got := mountPlan("/lab/f-stack.conf", "/etc/f-stack.conf", true, "/tmp/s")
	want := [][]string{{"mount", "--bind", "/lab/f-stack.conf", "/etc/f-stack.conf"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("existing target: %q, want %q", got, want)
	}
	got = mountPlan("/lab/f-stack.conf", "/etc/f-stack.conf", false, "/tmp/s")
	want = [][]string{
		{"mount", "-t", "overlay", "overlay", "-o", "lowerdir=/etc,upperdir=/tmp/s/upper,workdir=/tmp/s/work", "/etc"},
		{"mount", "--bind", "/lab/f-stack.conf", "/etc/f-stack.conf"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("missing target: %q, want %q", got, want)
	}
	if err := prepareScratch("/tmp/a,b", "/etc/f-stack.conf"); err == nil || !strings.Contains(err.Error(), "TMPDIR") {
		t.Errorf("a scratch path with a comma: %v", err)
	}
}

// The demo runs in namespace A, in a private mount namespace, through sh
// that execs it last (so that its PID is the one the harness started).
func TestPhotonDemoArgv(t *testing.T) {
	o := options{photonDemo: "/opt/photon/fstack-dpdk-demo"}
	argv := photonDemoArgv(o, true, "/tmp/s")
	want := []string{"ip", "netns", "exec", labNSA, "unshare", "--mount", "--propagation", "private", "--", "sh", "-c"}
	if len(argv) != len(want)+1 || fmt.Sprint(argv[:len(want)]) != fmt.Sprint(want) {
		t.Fatalf("argv %q", argv)
	}
	script := argv[len(want)]
	wantScript := "set -e; 'mount' '--bind' '" + labConf + "' '/etc/f-stack.conf'; 'exec' '/opt/photon/fstack-dpdk-demo'"
	if script != wantScript {
		t.Errorf("script\n%s\nwant\n%s", script, wantScript)
	}
}

// shScript's quoting survives the real sh: spaces, quotes, $ and globs.
func TestShScriptQuoting(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("needs sh")
	}
	odd := []string{"a b", "it's", `"$HOME"`, "*", "; false", ""}
	script := shScript([][]string{append([]string{"printf", `%s|`}, odd...)}, []string{"printf", "%s", "end"})
	out, err := exec.Command("sh", "-c", script).Output()
	if err != nil {
		t.Fatalf("sh -c %s: %v", script, err)
	}
	if want := strings.Join(odd, "|") + "|end"; string(out) != want {
		t.Errorf("got %q, want %q", out, want)
	}
	// set -e: a failing step stops the script before the exec.
	out, err = exec.Command("sh", "-c", shScript([][]string{{"false"}}, []string{"echo", "ran"})).Output()
	if err == nil || len(out) > 0 {
		t.Errorf("after a failing step: %q, %v", out, err)
	}
}

// The mount plan for real, in a private mount namespace: the program sees
// the lab's config at the target, in both cases (a target to mount over, and
// none, which takes the overlay); the host's view is left as it was.
func TestMountPlanRuns(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: mounts in a private mount namespace (unshare --mount)")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("needs unshare (util-linux)")
	}
	dir := t.TempDir()
	conf := dir + "/lab.conf"
	if err := os.WriteFile(conf, []byte("[port0]\naddr=10.99.0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A directory of our own stands for /etc.
	etc := dir + "/etc"
	os.Mkdir(etc, 0o755)
	os.WriteFile(etc+"/other", []byte("kept"), 0o644)
	target := etc + "/f-stack.conf"
	for _, exists := range []bool{false, true} {
		if exists {
			os.WriteFile(target, []byte("the host's own"), 0o644)
		}
		scratch := t.TempDir()
		if !exists {
			if err := prepareScratch(scratch, target); err != nil {
				t.Fatal(err)
			}
		}
		argv := inPrivateMounts("", mountPlan(conf, target, exists, scratch), []string{"cat", target, etc + "/other"})
		out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
		if err != nil {
			if !exists && strings.Contains(string(out), "overlay") {
				t.Skipf("needs overlayfs: %s", out)
			}
			t.Fatalf("target exists %v: %q: %v: %s", exists, argv, err, out)
		}
		if want := "[port0]\naddr=10.99.0.1\nkept"; string(out) != want {
			t.Errorf("target exists %v: the program read %q, want %q", exists, out, want)
		}
		// Nothing changed outside the namespace.
		b, err := os.ReadFile(target)
		switch {
		case exists && string(b) != "the host's own":
			t.Errorf("the host's %s now reads %q", target, b)
		case !exists && err == nil:
			t.Errorf("%s appeared on the host", target)
		}
	}
}
