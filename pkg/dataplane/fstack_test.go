package dataplane

import (
	"context"
	"net/netip"
	"os"
	"testing"
	"time"
)

// TestFstackEngine serves echo over F-Stack and drives it with the bench
// client. It needs a photonctl test binary built with the fstack tag against
// an installed libfstack, root, and a lab where F-Stack's [port0] addr is
// reachable from this network namespace (PHOTONCTL_FSTACK_CONF names its
// f-stack.conf). F-Stack can start once per process, so this is one test.
func TestFstackEngine(t *testing.T) {
	if !hasEngine(EngineFstack) {
		t.Skip("needs libfstack: the fstack engine is not built in; run CGO_CFLAGS=-I$FF_PATH/include CGO_LDFLAGS=-L$FF_PATH/lib go test -tags fstack ./pkg/dataplane/")
	}
	if os.Getuid() != 0 {
		t.Skip("needs root: DPDK maps hugepages and devices")
	}
	conf := os.Getenv("PHOTONCTL_FSTACK_CONF")
	if conf == "" {
		t.Skip("needs a lab: set PHOTONCTL_FSTACK_CONF to the lab's f-stack.conf")
	}
	s, err := Start(Config{Engine: EngineFstack, Conf: conf, Listen: netip.MustParseAddrPort("0.0.0.0:8080")})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // the tap link comes up
	for _, mode := range []string{ModePingPong, ModeStreaming} {
		r, err := Bench(context.Background(), BenchConfig{Addr: s.Addr, Mode: mode, Conns: 20, Size: 512, Duration: time.Second, Warmup: 200 * time.Millisecond})
		if err != nil || r.Messages == 0 || r.Mismatch != 0 {
			t.Errorf("%s over F-Stack: %+v, %v", mode, r, err)
		}
	}
	st, err := s.Stop()
	if err != nil || st.Accepted != 40 {
		t.Errorf("stop: %+v, %v", st, err)
	}
}
