package hugepages

import (
	"bytes"
	"strings"
	"testing"
)

func TestParseMeminfo(t *testing.T) {
	m, err := ParseMeminfo(strings.NewReader("MemTotal:       65808036 kB\nMemAvailable:   63012345 kB\nHugePages_Total:       0\nHugepagesize:    1048576 kB\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m.MemTotalKB != 65808036 || m.MemAvailableKB != 63012345 || m.HugepagesizeKB != 1048576 {
		t.Errorf("got %+v", m)
	}
	if _, err := ParseMeminfo(strings.NewReader("MemFree: 12 kB\n")); err == nil {
		t.Error("meminfo without MemTotal accepted")
	}
}

func TestParseMounts(t *testing.T) {
	ms, err := ParseMounts(strings.NewReader("hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\nnodev /mnt/huge\\0401G hugetlbfs rw,pagesize=1024M 0 0\nshort line\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 {
		t.Fatalf("got %d mounts, want 2 (the short line skipped)", len(ms))
	}
	if ps, _ := ms[0].Option("pagesize"); ps != "2M" {
		t.Errorf("pagesize %q", ps)
	}
	if ms[1].Target != "/mnt/huge 1G" {
		t.Errorf("escaped target %q", ms[1].Target)
	}
}

func FuzzParseMeminfo(f *testing.F) {
	f.Add([]byte("MemTotal: 1 kB\nHugepagesize: 2048 kB\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMeminfo(bytes.NewReader(b))
		if err == nil && (m.MemTotalKB < 0 || m.HugepagesizeKB < 0) {
			t.Fatalf("negative size accepted: %+v", m)
		}
	})
}

func FuzzParseMounts(f *testing.F) {
	f.Add([]byte("hugetlbfs /dev/hugepages hugetlbfs rw,pagesize=2M 0 0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, err := ParseMounts(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, m := range ms {
			if m.FSType == "" || len(m.Options) == 0 {
				t.Fatalf("mount without type or options: %+v", m)
			}
		}
	})
}
