package sriov

import (
	"testing"
)

func TestParseAddr(t *testing.T) {
	good := map[string]string{"0000:03:00.0": "0000:03:00.0", "03:00.1": "0000:03:00.1", "0000:AF:1F.7": "0000:af:1f.7", "10de:00:00.0": "10de:00:00.0"}
	for in, want := range good {
		a, err := ParseAddr(in)
		if err != nil || a.String() != want {
			t.Errorf("ParseAddr(%q) = %v, %v; want %s", in, a, err, want)
		}
	}
	for _, in := range []string{"", "03:00", "0000:03:00.8", "0000:03:20.0", "000:03:00.0", "0000:3:00.0", "0000:03:00.0.1", "enp3s0f0", "0000:g3:00.0", "0000:03:00.-"} {
		if a, err := ParseAddr(in); err == nil {
			t.Errorf("ParseAddr(%q) = %v, want an error", in, a)
		}
	}
}

func TestVFAddr(t *testing.T) {
	tests := []struct {
		pf             string
		offset, stride int
		i              int
		want           string
	}{
		{"0000:18:00.0", 16, 1, 0, "0000:18:02.0"}, // X710
		{"0000:18:00.0", 16, 1, 9, "0000:18:03.1"},
		{"0000:03:00.0", 2, 1, 0, "0000:03:00.2"},    // ConnectX-4 Lx port 0
		{"0000:03:00.1", 9, 1, 0, "0000:03:01.2"},    // port 1
		{"0000:05:00.0", 128, 2, 64, "0000:06:00.0"}, // stride 2 and onto the next bus
		{"0001:ff:1f.7", 1, 1, 0, ""},                // past the last bus
		{"0000:03:00.0", 0, 1, 0, ""},                // no offset: no SR-IOV
	}
	for _, tc := range tests {
		pf, _ := ParseAddr(tc.pf)
		got, err := VFAddr(pf, tc.offset, tc.stride, tc.i)
		if tc.want == "" {
			if err == nil {
				t.Errorf("VFAddr(%s, %d, %d, %d) = %s, want an error", tc.pf, tc.offset, tc.stride, tc.i, got)
			}
			continue
		}
		if err != nil || got.String() != tc.want {
			t.Errorf("VFAddr(%s, %d, %d, %d) = %s, %v; want %s", tc.pf, tc.offset, tc.stride, tc.i, got, err, tc.want)
		}
	}
	got, err := VFAddrs(PF{Addr: "0000:18:00.0", Offset: 16, Stride: 1}, 3)
	if err != nil || len(got) != 3 || got[2] != "0000:18:02.2" {
		t.Errorf("VFAddrs = %v, %v", got, err)
	}
}

func FuzzParseAddr(f *testing.F) {
	for _, s := range []string{"0000:03:00.0", "03:00.1", "ffff:ff:1f.7", "0000:03:00.8", ":::", "0000:03:00."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddr(s)
		if err != nil {
			return
		}
		b, err := ParseAddr(a.String())
		if err != nil || a != b {
			t.Fatalf("%q -> %v does not round-trip: %v %v", s, a, b, err)
		}
		if a.Device > 0x1f || a.Function > 7 {
			t.Fatalf("%q -> out-of-range %v", s, a)
		}
	})
}
