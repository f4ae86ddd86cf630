package sriov

import (
	"bytes"
	"strings"
	"testing"
)

func TestParseLockdown(t *testing.T) {
	for in, want := range map[string]string{
		"[none] integrity confidentiality\n": "none",
		"none [integrity] confidentiality\n": "integrity",
		"none integrity [confidentiality]":   "confidentiality",
		"":                                   "",
		"[] none":                            "",
	} {
		if got := ParseLockdown([]byte(in)); got != want {
			t.Errorf("ParseLockdown(%q) = %q, want %q", in, got, want)
		}
	}
}

const procRoute = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" +
	"eno1\t00000000\t0102A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n" +
	"eno1\t0002A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n" +
	"ens1f0\t00000000\t0101A8C0\t0003\t0\t0\t200\t00000000\t0\t0\t0\n" +
	"eno1\t00000000\t0102A8C0\t0003\t0\t0\t300\t00000000\t0\t0\t0\n"

const procIPv6Route = "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00450003 enp24s2\n" +
	"fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001 enp24s2\n" +
	"00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n"

func TestParseRoutes(t *testing.T) {
	got, err := ParseRoutes(strings.NewReader(procRoute))
	if err != nil || strings.Join(got, ",") != "eno1,ens1f0" {
		t.Errorf("IPv4: %q %v", got, err)
	}
	got, err = ParseIPv6Routes(strings.NewReader(procIPv6Route))
	if err != nil || strings.Join(got, ",") != "enp24s2" {
		t.Errorf("IPv6: %q %v", got, err)
	}
}

func TestParseResources(t *testing.T) {
	z := "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
	bar := "0x00000000fa000000 0x00000000fbffffff 0x000000000014220c\n"
	unset := "0x0000000000000000 0x0000000001ffffff 0x000000000014220c\n"
	res, err := ParseResources(strings.NewReader(bar + strings.Repeat(z, 6) + unset + bar + strings.Repeat(z, 4)))
	if err != nil || len(res) != 13 {
		t.Fatalf("%v %v", res, err)
	}
	if got := UnassignedVFBARs(res); len(got) != 1 || got[0] != 0 {
		t.Errorf("unassigned VF BARs %v, want [0]", got)
	}
	if got := UnassignedVFBARs(res[:7]); len(got) != 0 {
		t.Errorf("no IOV lines: %v", got)
	}
	if _, err := ParseResources(strings.NewReader("0x1 0x2\n")); err == nil {
		t.Error("a short line was accepted")
	}
	if _, err := ParseResources(strings.NewReader("0x1 0x2 zz\n")); err == nil {
		t.Error("a non-hex flag was accepted")
	}
}

func FuzzParseLockdown(f *testing.F) {
	f.Add([]byte("none [integrity] confidentiality\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m := ParseLockdown(b)
		if m != "" && !bytes.Contains(b, []byte("["+m+"]")) {
			t.Fatalf("%q: mode %q is not in brackets in the input", b, m)
		}
	})
}

func FuzzParseRoutes(f *testing.F) {
	f.Add([]byte(procRoute))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := ParseRoutes(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, i := range got {
			if i == "" || !bytes.Contains(b, []byte(i)) {
				t.Fatalf("%q: interface %q is not in the input", b, i)
			}
		}
	})
}

func FuzzParseIPv6Routes(f *testing.F) {
	f.Add([]byte(procIPv6Route))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := ParseIPv6Routes(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, i := range got {
			if i == "lo" || !bytes.Contains(b, []byte(i)) {
				t.Fatalf("%q: interface %q", b, i)
			}
		}
	})
}

func FuzzParseResources(f *testing.F) {
	f.Add([]byte("0x00000000fa000000 0x00000000fbffffff 0x000000000014220c\n0x0 0x0 0x0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := ParseResources(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, i := range UnassignedVFBARs(res) {
			if i < 0 || i > 5 {
				t.Fatalf("VF BAR %d", i)
			}
		}
	})
}
