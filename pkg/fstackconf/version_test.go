package fstackconf

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/host"
)

func writeHost(t *testing.T, h *host.Host, p, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(h.Path(p)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(h.Path(p), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The one resolution, in its order: flag, installed libfstack, the key an
// existing f-stack.conf uses, the F-Stack of the installed DPDK, else an error
// listing the versions.
func TestResolveVersionOrder(t *testing.T) {
	h := fixture.Host(t, "fstack-cx4")
	q := VersionQuery{Conf: "/etc/f-stack.conf"}
	step := func(want, from string) {
		t.Helper()
		r, err := ResolveVersion(h, q)
		if err != nil || r.Version.String() != want || r.From != from {
			t.Fatalf("ResolveVersion = %s from %s (%s), %v; want %s from %s", r.Version, r.From, r.How, err, want, from)
		}
	}
	if _, err := ResolveVersion(h, q); !errors.Is(err, ErrUnknownVersion) || !strings.Contains(err.Error(), "give --fstack-version, one of 1.21, 1.22, 1.23, 1.24, 1.25") {
		t.Fatalf("nothing to go by: %v", err)
	}
	// DPDK 22.11 installed: the F-Stack built for it, 1.24 (23.11: 1.25).
	writeHost(t, h, "/usr/local/lib64/pkgconfig/libdpdk.pc", "prefix=/usr/local\nName: DPDK\nVersion: 23.11.2\n")
	step("1.25", FromDPDK)
	writeHost(t, h, "/usr/local/lib64/pkgconfig/libdpdk.pc", "prefix=/usr/local\nName: DPDK\nVersion: 22.11.1\n")
	step("1.24", FromDPDK)
	// An existing f-stack.conf's allow-list key beats the DPDK guess.
	writeHost(t, h, "/etc/f-stack.conf", "[dpdk]\nallow=0000:03:00.0\n")
	step("1.25", FromConf)
	// The installed libfstack beats the file.
	writeHost(t, h, "/usr/local/lib/libfstack.a.1.23", "not a library")
	step("1.23", FromInstalled)
	// The flag beats everything, with a note that it differs.
	q.Asked = "1.24"
	r, err := ResolveVersion(h, q)
	if err != nil || r.Version.String() != "1.24" || r.From != FromFlag || !strings.Contains(strings.Join(r.Notes, ";"), "F-Stack 1.23 is installed") {
		t.Errorf("flag: %+v %v", r, err)
	}
	q.Asked = "2.0"
	if _, err := ResolveVersion(h, q); err == nil || !strings.Contains(err.Error(), "one of 1.21, 1.22, 1.23, 1.24, 1.25") {
		t.Errorf("--fstack-version 2.0: %v; want the versions listed", err)
	}
}
