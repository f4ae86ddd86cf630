package fstackconf

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// CPUSet is a set of CPU numbers, as in /sys/devices/system/cpu/online.
type CPUSet map[int]bool

// ParseCPUList reads the kernel's CPU list format ("0-3,8-11", "" for none).
func ParseCPUList(b []byte) (CPUSet, error) {
	s := strings.TrimSpace(string(b))
	set := CPUSet{}
	if s == "" {
		return set, nil
	}
	cpus, err := ParseList(s)
	if err != nil {
		return nil, fmt.Errorf("CPU list %q: %w", s, err)
	}
	for _, c := range cpus {
		set[c] = true
	}
	return set, nil
}

// Sorted lists the CPUs in order.
func (s CPUSet) Sorted() []int {
	out := make([]int, 0, len(s))
	for c := range s {
		out = append(out, c)
	}
	sort.Ints(out)
	return out
}

// String renders the set in the kernel's format.
func (s CPUSet) String() string {
	cpus := s.Sorted()
	var parts []string
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		if i == j {
			parts = append(parts, strconv.Itoa(cpus[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", cpus[i], cpus[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}
