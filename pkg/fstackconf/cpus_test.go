package fstackconf

import (
	"testing"
)

func TestCPUListAndMasks(t *testing.T) {
	s, err := ParseCPUList([]byte("0-3,8,10-11\n"))
	if err != nil || s.String() != "0-3,8,10-11" || len(s) != 7 {
		t.Errorf("ParseCPUList: %v %v", s, err)
	}
	for _, bad := range []string{"0-", "a", "3-1", "0-99999"} {
		if _, err := ParseCPUList([]byte(bad)); err == nil {
			t.Errorf("ParseCPUList(%q) accepted", bad)
		}
	}
	for in, want := range map[string][]int{"2": {1}, "0x6": {1, 2}, "0X10": {4}, "100000000": {32}} {
		got, err := ParseMask(in)
		if err != nil || len(got) != len(want) {
			t.Errorf("ParseMask(%q) = %v, %v", in, got, err)
			continue
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("ParseMask(%q) = %v, want %v", in, got, want)
			}
		}
		if m := MaskOf(got); "0x"+m != in && m != in && "0X"+m != in {
			t.Errorf("MaskOf(%v) = %s, want %s", got, m, in)
		}
	}
	for _, bad := range []string{"", "0", "0x", "g"} {
		if _, err := ParseMask(bad); err == nil {
			t.Errorf("ParseMask(%q) accepted", bad)
		}
	}
	if vf, err := OffsetPCI("0000:03:00.0", 2); err != nil || vf != "0000:03:00.2" {
		t.Errorf("OffsetPCI = %s, %v", vf, err)
	}
	if vf, err := OffsetPCI("0000:81:00.1", 127); err != nil || vf != "0000:81:10.0" {
		t.Errorf("OffsetPCI across devices = %s, %v", vf, err)
	}
}

func FuzzParseCPUList(f *testing.F) {
	f.Add([]byte("0-3,8"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseCPUList(b)
		if err != nil {
			return
		}
		again, err := ParseCPUList([]byte(s.String()))
		if err != nil || again.String() != s.String() {
			t.Fatalf("%q -> %q -> %v %v", b, s.String(), again, err)
		}
		ParseMask(string(b))
	})
}
