package dpdkenv

import (
	"testing"
)

// FuzzParseArchive: any bytes give an archive or an error, never a panic,
// and every member and index entry lies inside the input.
func FuzzParseArchive(f *testing.F) {
	f.Add(fakeLibfstack(true))
	f.Add([]byte("!<arch>\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseArchive(b)
		if err != nil {
			return
		}
		for _, m := range a.Members {
			if m.Offset < 8 || m.Offset+60 > int64(len(b)) || len(m.Data) > len(b) {
				t.Fatalf("member %q at %d with %d bytes outside %d-byte input", m.Name, m.Offset, len(m.Data), len(b))
			}
			_, _ = MemberSymbols(m)
		}
		_, _ = a.References(flowIsolateSym)
	})
}

func FuzzParseCPUList(f *testing.F) {
	for _, s := range []string{"0-3", "0-3,8,10-11", "", "(null)", "5-2", "1,,2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		set, err := parseCPUList(s)
		if err != nil {
			return
		}
		// Rendering and parsing again gives the same set.
		again, err := parseCPUList(set.String())
		if err != nil || len(again) != len(set) {
			t.Fatalf("%q -> %q -> %v, %v", s, set.String(), again, err)
		}
	})
}

func FuzzParseHexMask(f *testing.F) {
	for _, s := range []string{"1", "0x6", "fffe", "0X10", "g", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		set, err := parseHexMask(s)
		if err != nil {
			return
		}
		for c := range set {
			if c < 0 || c >= maxCPU {
				t.Fatalf("%q gives CPU %d", s, c)
			}
		}
	})
}

func FuzzIniLookup(f *testing.F) {
	f.Add([]byte("[dpdk]\nlcore_mask=6\npci_whitelist=03:00.0\n[port0]\naddr=1.2.3.4\n"), "dpdk", "lcore_mask")
	f.Add([]byte("; comment\n[dpdk\nlcore_mask\n=\n"), "dpdk", "")
	f.Fuzz(func(t *testing.T, b []byte, section, key string) {
		_, _ = iniLookup(b, section, key)
		_ = allowList(b)
	})
}

func FuzzParsePCVersion(f *testing.F) {
	f.Add([]byte("prefix=/usr/local\nName: DPDK\nVersion: 20.11.0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if v, ok := ParsePCVersion(b); ok && v == "" {
			t.Fatal("ok with an empty version")
		}
	})
}

func FuzzJudgeProbe(f *testing.F) {
	f.Add([]byte(testpmdOK), 2)
	f.Add([]byte("EAL: Error - exiting with code: 1\n  Cause: No probed ethernet devices\n"), 1)
	f.Fuzz(func(t *testing.T, out []byte, n int) {
		if n < 0 || n > 64 {
			return
		}
		devs := make([]string, n)
		for i := range devs {
			devs[i] = "0000:03:00.0"
		}
		r := judgeProbe(out, nil, devs, DefaultProbeTime)
		if (r.Status == "warn" || r.Status == "fail") && r.Fix == "" {
			t.Fatalf("%s without a fix: %+v", r.Status, r)
		}
	})
}
