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

// A photonctl with F-Stack linked in writes and checks confs for that
// release where no libfstack is installed (a host with DPDK's runtime and
// no F-Stack tree: the e2e guest of issue 17), ahead of the conf's key and
// the DPDK guess, and says so when an installed one differs.
func TestResolveVersionLinked(t *testing.T) {
	h := fixture.Host(t, "fstack-cx4")
	t.Cleanup(func() { Linked = "" })
	writeHost(t, h, "/usr/local/lib64/pkgconfig/libdpdk.pc", "prefix=/usr/local\nName: DPDK\nVersion: 23.11.2\n")
	writeHost(t, h, "/etc/f-stack.conf", "[dpdk]\nallow=0000:03:00.0\n")
	q := VersionQuery{Conf: "/etc/f-stack.conf"}
	Linked = "1.24"
	r, err := ResolveVersion(h, q)
	if err != nil || r.Version.String() != "1.24" || r.From != FromLinked || len(r.Notes) != 0 {
		t.Fatalf("linked 1.24 beside a 1.25 conf key and DPDK 23.11: %+v, %v; want 1.24 from %s, no note", r, err, FromLinked)
	}
	writeHost(t, h, "/usr/local/lib/libfstack.a.1.23", "not a library")
	r, err = ResolveVersion(h, q)
	if err != nil || r.Version.String() != "1.23" || r.From != FromInstalled || !strings.Contains(strings.Join(r.Notes, ";"), "F-Stack 1.24 linked in") {
		t.Errorf("installed 1.23, linked 1.24: %+v, %v; want the installed one, with a note of the linked one", r, err)
	}
	Linked = ""
	if r, _ := ResolveVersion(h, q); r.From != FromInstalled || len(r.Notes) != 0 {
		t.Errorf("not linked: %+v", r)
	}
}

// TreeVersion reads the tree a build links, not the install under
// /usr/local/lib (DetectVersion's first choice): make fstack stamps the
// F-Stack of FF_PATH into photonctl.
func TestTreeVersion(t *testing.T) {
	h := fixture.Host(t, "fstack-cx4")
	writeHost(t, h, "/usr/local/lib/libfstack.a.1.23", "not a library")
	if err := os.Symlink("libfstack.a.1.23", h.Path("/usr/local/lib/libfstack.a")); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := TreeVersion(h, "/opt/src/f-stack"); ok {
		t.Fatal("TreeVersion of a missing tree said a version")
	}
	steps := []struct {
		file, data, want, from string
	}{
		{"/opt/src/f-stack/RELEASE_NOTES.md", "# F-Stack Release Note\n\n2024.06 F-Stack v1.24\n\n2023.09 F-Stack v1.23\n", "1.24", "/opt/src/f-stack/RELEASE_NOTES.md"},
		{"/opt/src/f-stack/lib/Makefile", "TOPDIR=..\nF-STACK_VERSION=1.25\n", "1.25", "F-STACK_VERSION in $FF_PATH/lib/Makefile"},
		{"/opt/src/f-stack/VERSION", "1.24\n", "1.24", "$FF_PATH/VERSION"},
	}
	for _, s := range steps {
		writeHost(t, h, s.file, s.data)
		v, from, ok := TreeVersion(h, "/opt/src/f-stack")
		if !ok || v.String() != s.want || from != s.from {
			t.Errorf("with %s: TreeVersion = %s from %q (%v), want %s from %q", s.file, v, from, ok, s.want, s.from)
		}
	}
	if v, from, _ := DetectVersion(h, "/opt/src/f-stack"); v.String() != "1.23" || !strings.Contains(from, "/usr/local/lib/libfstack.a") {
		t.Errorf("DetectVersion = %s from %q, want the installed 1.23", v, from)
	}
	// An install prefix: lib/libfstack.a links to libfstack.a.1.22.
	writeHost(t, h, "/opt/ff/lib/libfstack.a.1.22", "not a library")
	if err := os.Symlink("libfstack.a.1.22", h.Path("/opt/ff/lib/libfstack.a")); err != nil {
		t.Fatal(err)
	}
	if v, from, ok := TreeVersion(h, "/opt/ff"); !ok || v.String() != "1.22" || from != "$FF_PATH/lib/libfstack.a -> libfstack.a.1.22" {
		t.Errorf("prefix: TreeVersion = %s from %q (%v)", v, from, ok)
	}
}
