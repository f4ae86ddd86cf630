package main

import (
	"errors"
	"flag"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseFlagsDefaults(t *testing.T) {
	in, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	o := in.o
	// make bench's run: the server comparison, as before -compare existed.
	if o.compare != compareServers || !slices.Equal(o.servers, []string{"kernel", "gonet", "gnet"}) ||
		!slices.Equal(o.modes, []string{"pingpong", "streaming"}) || o.rounds != 3 || o.conns != 100 || o.sconns != 1 || o.size != 512 || !o.netns || !slices.Equal(o.drivers, []string{"photonctl"}) ||
		o.duration != 5*time.Second || o.warmup != time.Second || o.serverCPU != "0" || o.clientCPU != "1" || in.serve != "" || in.client != "" {
		t.Errorf("defaults %+v", in)
	}
}

// With -netperf, PhotonLibOS's server is the reference and its client
// drives the servers as well as bench echo.
func TestParseFlagsNetperf(t *testing.T) {
	in, err := parseFlags([]string{"-netperf", "/bin/true"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(in.o.servers, []string{"photon", "kernel", "gonet", "gnet"}) || !slices.Equal(in.o.drivers, []string{"photonctl", "netperf"}) {
		t.Errorf("-netperf: servers %q drivers %q", in.o.servers, in.o.drivers)
	}
	in, err = parseFlags([]string{"-netperf", "/bin/true", "-servers", "kernel,photon,gnet", "-drivers", "netperf"}, io.Discard)
	if err != nil || !slices.Equal(in.o.servers, []string{"kernel", "photon", "gnet"}) || !slices.Equal(in.o.drivers, []string{"netperf"}) {
		t.Errorf("-netperf with -servers and -drivers: %+v, %v", in, err)
	}
}

func TestParseFlagsClients(t *testing.T) {
	in, err := parseFlags([]string{"-compare", "clients"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	o := in.o
	if o.compare != compareClients || !slices.Equal(o.servers, []string{"kernel"}) || !slices.Equal(o.modes, []string{"pingpong"}) ||
		!slices.Equal(o.clients, []string{"photonctl", "gonet"}) {
		t.Errorf("-compare clients: %+v", o)
	}
	in, err = parseFlags([]string{"-compare", "clients", "-servers", "gnet", "-clients", "gonet,photonctl", "-rounds", "5"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(in.o.servers, []string{"gnet"}) || !slices.Equal(in.o.clients, []string{"gonet", "photonctl"}) || in.o.rounds != 5 {
		t.Errorf("%+v", in.o)
	}
}

func TestParseFlagsHiddenModes(t *testing.T) {
	in, err := parseFlags([]string{"-client", "gonet", "-addr", "127.0.0.1:9", "-conns", "7", "-duration", "2s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if in.client != "gonet" || in.addr != "127.0.0.1:9" || in.o.conns != 7 || in.o.duration != 2*time.Second {
		t.Errorf("%+v", in)
	}
	in, err = parseFlags([]string{"-serve", "gnet", "-listen", "127.0.0.1:0", "-buffer", "64"}, io.Discard)
	if err != nil || in.serve != "gnet" || in.buffer != 64 {
		t.Errorf("%+v, %v", in, err)
	}
}

// make bench's lab run with Photon's demo: it is the reference, both
// drivers, pingpong at 10 and 100 connections.
func TestParseFlagsLab(t *testing.T) {
	in, err := parseFlags([]string{"-lab", "-photonctl", "/bin/true", "-photon-fstack-demo", "/bin/true", "-netperf", "/bin/true", "-conns", "10,100"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	o := in.o
	if !slices.Equal(o.servers, []string{serverPhotonFstack, "fstack", "kernel"}) || !slices.Equal(o.drivers, []string{"photonctl", "netperf"}) ||
		!slices.Equal(o.connsList, []int{10, 100}) || o.conns != 10 {
		t.Errorf("lab with the demo: servers %q drivers %q conns %v", o.servers, o.drivers, o.connsList)
	}
	want := []runCase{{"pingpong", 10}, {"pingpong", 100}, {"streaming", 1}}
	if got := o.cases(); !slices.Equal(got, want) {
		t.Errorf("cases %v, want %v", got, want)
	}
	if c := o.forCase(want[1]); c.conns != 100 || o.conns != 10 {
		t.Errorf("forCase(pingpong 100): conns %d (o's %d)", c.conns, o.conns)
	}
	if c := o.forCase(want[2]); c.conns != 10 || c.connsFor("streaming") != 1 {
		t.Errorf("forCase(streaming): conns %d, streaming %d", c.conns, c.connsFor("streaming"))
	}
	// net-perf's client runs in namespace B against the lab address.
	got := netperfClientArgv(o, "pingpong", labAddr, photonDemoPort, 100)
	if w := []string{"ip", "netns", "exec", labNSB, "/bin/true", "--client", "--client_mode", "pingpong", "--ip", labAddr, "--port", "80",
		"--buf_size", "512", "--client_connection_num", "100"}; !slices.Equal(got, w) {
		t.Errorf("net-perf client in the lab: %q", got)
	}
	// Without the demo the lab compares the engines as before.
	in, err = parseFlags([]string{"-lab", "-photonctl", "/bin/true"}, io.Discard)
	if err != nil || !slices.Equal(in.o.servers, []string{"kernel", "fstack"}) {
		t.Errorf("lab without the demo: %v, %v", in, err)
	}
}

// A run whose echo came back wrong, or not at all, is an error.
func TestCheckEchoed(t *testing.T) {
	if err := checkEchoed(sample{Server: "fstack", Messages: 10}); err != nil {
		t.Error(err)
	}
	if err := checkEchoed(sample{Server: "fstack", Driver: driverBench, Mode: "pingpong", Conns: 10, Messages: 10, Mismatch: 3}); err == nil || !strings.Contains(err.Error(), "3 bytes wrong") {
		t.Errorf("mismatch: %v", err)
	}
	if err := checkEchoed(sample{Server: serverPhotonFstack}); err == nil || !strings.Contains(err.Error(), "no message") {
		t.Errorf("nothing echoed: %v", err)
	}
}

func TestParseFlagsErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-compare", "both"}, `-compare "both": give servers or clients`},
		{[]string{"-compare", "clients", "-lab"}, "drop -lab"},
		{[]string{"-compare", "clients", "-modes", "pingpong,streaming"}, "the Go client does pingpong only"},
		{[]string{"-compare", "clients", "-servers", "kernel,gonet"}, "give one server"},
		{[]string{"-compare", "clients", "-clients", "photonctl,netty"}, `unknown client "netty"`},
		{[]string{"-compare", "clients", "-clients", "gonet,gonet"}, `"gonet" twice`},
		{[]string{"-compare", "clients", "-servers", "fstack"}, `unknown server "fstack"`},
		{[]string{"-rounds", "0"}, "-rounds 0"},
		{[]string{"-servers", "photon,kernel"}, "-servers photon needs -netperf"},
		{[]string{"-drivers", "photonctl,netperf"}, "-drivers netperf needs -netperf"},
		{[]string{"-drivers", "wrk"}, `unknown driver "wrk"`},
		{[]string{"-drivers", "photonctl,photonctl"}, `"photonctl" twice`},
		{[]string{"-netperf", "/nonexistent/net-perf"}, "PhotonLibOS Release build"},
		{[]string{"-netperf", "/bin/true", "-lab", "-photonctl", "x", "-servers", "kernel,photon"}, "not in the lab"},
		{[]string{"-streaming-conns", "0"}, "-streaming-conns 0"},
		{[]string{"-conns", "0"}, `-conns "0"`},
		{[]string{"-conns", "10,x"}, `-conns "10,x"`},
		{[]string{"-conns", "10,10"}, "10 twice"},
		{[]string{"-compare", "clients", "-conns", "10,100"}, "give one connection count"},
		{[]string{"-servers", "photon-fstack"}, "add -lab"},
		{[]string{"-photon-fstack-demo", "/bin/true"}, "add -lab"},
		{[]string{"-lab", "-photonctl", "x", "-servers", "photon-fstack,fstack"}, "needs -photon-fstack-demo PATH"},
		{[]string{"-lab", "-photonctl", "x", "-photon-fstack-demo", "/nonexistent/fstack-dpdk-demo"}, "relinked against libfstack"},
		{[]string{"-duration", "0s"}, "-duration 0s"},
		{[]string{"-modes", "bulk"}, `unknown mode "bulk"`},
		{[]string{"-servers", "nginx"}, `unknown server "nginx"`},
		{[]string{"-lab", "-servers", "kernel,fstack"}, "-lab needs -photonctl"},
		{[]string{"-lab", "-servers", "gonet", "-photonctl", "x"}, "does not run in the lab"},
		{[]string{"-client", "rust", "-addr", "127.0.0.1:9"}, `the only Go client is gonet`},
		{[]string{"-client", "gonet"}, "needs -addr"},
		{[]string{"-client", "gonet", "-addr", "127.0.0.1:9", "-size", "0"}, "-size 0"},
		{[]string{"-client", "gonet", "-serve", "gonet"}, "give one"},
		{[]string{"extra"}, "unexpected arguments"},
		{[]string{"-nope"}, "flag provided but not defined"},
	} {
		_, err := parseFlags(c.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err %v, want it to say %q", c.args, err, c.want)
		}
	}
	if _, err := parseFlags([]string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

// kernel-uring is photonctl's kernel engine on its io_uring loop, outside
// the lab only.
func TestKernelUringServer(t *testing.T) {
	in, err := parseFlags([]string{"-servers", "kernel,kernel-uring"}, io.Discard)
	if err != nil || !slices.Equal(in.o.servers, []string{"kernel", "kernel-uring"}) {
		t.Fatalf("-servers kernel,kernel-uring: %v %v", in.o.servers, err)
	}
	u := serverArgv(in.o, "/self", "kernel-uring", 0)
	k := serverArgv(in.o, "/self", "kernel", 0)
	if !slices.Contains(u, "uring") || slices.Contains(k, "uring") || !isPhotonctl("kernel-uring") {
		t.Errorf("kernel-uring argv %q, kernel argv %q", u, k)
	}
	if _, err := parseFlags([]string{"-lab", "-photonctl", "x", "-servers", "kernel-uring"}, io.Discard); err == nil {
		t.Error("kernel-uring in the lab was accepted")
	}
}
