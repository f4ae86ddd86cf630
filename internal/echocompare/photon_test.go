package main

import (
	"os"
	"testing"
	"time"
)

// The net-perf driver against PhotonLibOS's own server and against the
// kernel engine: bytes echoed to net-perf's client are counted from its
// sockets, in both modes. Needs a net-perf binary in $NETPERF (and builds
// photonctl for the kernel engine).
func TestNetperfDriver(t *testing.T) {
	np := os.Getenv("NETPERF")
	if np == "" {
		t.Skip("needs PhotonLibOS's net-perf: set NETPERF=/path/to/net-perf (a Release build of its examples/perf)")
	}
	if testing.Short() {
		t.Skip("-short: builds photonctl and runs net-perf for a few seconds")
	}
	o := options{netperf: np, conns: 10, sconns: 1, size: 512, duration: time.Second, warmup: 500 * time.Millisecond, serverCPU: "0", clientCPU: "1"}
	self, pin, cleanup, err := prepare(&o)
	defer cleanup()
	if err != nil {
		t.Fatal(err)
	}
	for _, srv := range []string{"photon", "kernel"} {
		for _, mode := range []string{"pingpong", "streaming"} {
			s, err := runOne(o, pin, self, srv, mode, driverNetperf)
			if err != nil {
				t.Fatalf("%s %s: %v", srv, mode, err)
			}
			if s.Messages == 0 || s.QPS <= 0 || s.Server != srv || s.Driver != driverNetperf || s.P99us != 0 {
				t.Errorf("%s %s: sample %+v", srv, mode, s)
			}
		}
	}
}
