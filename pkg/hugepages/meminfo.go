package hugepages

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Meminfo is what this package needs of /proc/meminfo, in kB.
type Meminfo struct {
	MemTotalKB     int64
	MemAvailableKB int64
	// HugepagesizeKB is the default hugepage size.
	HugepagesizeKB int64
}

// ParseMeminfo reads /proc/meminfo. MemTotal is required.
func ParseMeminfo(r io.Reader) (Meminfo, error) {
	var m Meminfo
	seen := false
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		n, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil || n < 0 {
			continue
		}
		switch key {
		case "MemTotal":
			m.MemTotalKB, seen = n, true
		case "MemAvailable":
			m.MemAvailableKB = n
		case "Hugepagesize":
			m.HugepagesizeKB = n
		}
	}
	if err := sc.Err(); err != nil {
		return m, err
	}
	if !seen {
		return m, fmt.Errorf("/proc/meminfo has no MemTotal line")
	}
	return m, nil
}
