package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/vishvananda/netns"
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
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		h, err := netns.GetFromName(ns)
		if err != nil {
			got <- err
			return
		}
		defer h.Close()
		if err := netns.Set(h); err != nil {
			got <- err
			return
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			got <- err
			return
		}
		got <- l
	}()
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
	if err := echoOnceIn(ns, addr, 512); err != nil {
		t.Fatalf("echoOnceIn(%s, %s): %v", ns, addr, err)
	}
	// From this namespace the same address has no such server.
	if err := echoOnceIn("", addr, 512); err == nil {
		t.Errorf("echoOnceIn in this namespace reached %s, a server in %s", addr, ns)
	}
	// A connection opened in ns, kept open while echoedTo counts.
	port := l.Addr().(*net.TCPAddr).Port
	cc := make(chan net.Conn, 1)
	go func() {
		runtime.LockOSThread()
		h, err := netns.GetFromName(ns)
		if err == nil {
			defer h.Close()
			err = netns.Set(h)
		}
		if err != nil {
			t.Error(err)
			cc <- nil
			return
		}
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Error(err)
		}
		cc <- c
	}()
	c := <-cc
	if c == nil {
		t.FailNow()
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
}
