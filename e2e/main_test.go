package e2e

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"
)

// TestMain stops every QEMU the suite started, also when it is interrupted.
func TestMain(m *testing.M) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s := <-sig
		fmt.Fprintf(os.Stderr, "e2e: %v: stopping the guests\n", s)
		StopAll()
		os.Exit(2)
	}()
	code := m.Run()
	StopAll()
	os.Exit(code)
}
