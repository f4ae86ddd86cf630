//go:build fstack

package dataplane

import (
	"strings"
	"testing"
)

// In a build with F-Stack linked in (go test -tags fstack with make
// fstack's CGO_CFLAGS and CGO_LDFLAGS), LinkedFstack says the DPDK that
// is loaded: rte_version() of librte_eal, and its file.
func TestLinkedFstackLoadsDPDK(t *testing.T) {
	l := LinkedFstack()
	if l == nil {
		t.Fatal("LinkedFstack is nil in a build with the fstack tag")
	}
	if l.DPDK == "" || !strings.Contains(l.DPDKLib, "librte_eal") {
		t.Errorf("loaded DPDK %q from %q, want rte_version() and librte_eal's file", l.DPDK, l.DPDKLib)
	}
	if FstackVersion == "" && l.Fstack != "" {
		t.Errorf("F-Stack %q said without a stamp", l.Fstack)
	}
}
