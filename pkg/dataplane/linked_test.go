package dataplane

import (
	"regexp"
	"strings"
	"testing"
)

// What rte_version() of DPDK's lib/eal/common/rte_version.c prints:
// "%s %d.%02d.%d" (prefix, year, month, minor), and "%s%d" after it for a
// release candidate (suffix "-rc", release).
func TestParseRteVersion(t *testing.T) {
	for in, want := range map[string]string{
		"DPDK 22.11.11":     "22.11.11",
		"DPDK 22.11.0":      "22.11.0",
		"DPDK 23.11.0-rc1":  "23.11.0-rc1",
		" DPDK 20.11.3\n":   "20.11.3",
		"22.11.1":           "22.11.1",
		"":                  "",
		"DPDK":              "",
		"DPDK 22":           "",
		"F-Stack 1.24":      "",
		"DPDK 22.11.1 junk": "",
	} {
		if got := ParseRteVersion(in); got != want {
			t.Errorf("ParseRteVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseRteVersion(f *testing.F) {
	f.Add("DPDK 22.11.11")
	f.Add("DPDK 23.11.0-rc1")
	f.Add("")
	release := regexp.MustCompile(`^\d+\.\d+`)
	f.Fuzz(func(t *testing.T, s string) {
		v := ParseRteVersion(s)
		if v == "" {
			return
		}
		if !release.MatchString(v) || strings.ContainsAny(v, " \t\n") || !strings.Contains(s, v) {
			t.Errorf("ParseRteVersion(%q) = %q", s, v)
		}
	})
}

// Without the fstack tag nothing is linked in: doctor judges the host's
// files as before.
func TestLinkedFstackWithoutTag(t *testing.T) {
	if loadedDPDK != nil {
		t.Skip("built with the fstack tag: LinkedFstack is checked by make fstack's doctor run (docs/dpdk-toolchain.md)")
	}
	if l := LinkedFstack(); l != nil {
		t.Errorf("LinkedFstack = %+v in a build without F-Stack", l)
	}
}
