package dpdkenv

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// maxCPU bounds CPU numbers read from files and masks.
const maxCPU = 1 << 16

// cpuSet is a set of CPU numbers.
type cpuSet map[int]bool

// parseCPUList reads the kernel's CPU list format ("0-3,8,10-11"), as in
// /sys/devices/system/cpu/online. An empty string and "(null)" (nohz_full
// when unset) are the empty set.
func parseCPUList(s string) (cpuSet, error) {
	s = strings.TrimSpace(s)
	set := cpuSet{}
	if s == "" || s == "(null)" {
		return set, nil
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 || a >= maxCPU {
			return nil, fmt.Errorf("%q is not a CPU list such as 0-3,8", s)
		}
		b := a
		if isRange {
			b, err = strconv.Atoi(hi)
			if err != nil || b < a || b >= maxCPU {
				return nil, fmt.Errorf("%q is not a CPU list such as 0-3,8", s)
			}
		}
		for c := a; c <= b; c++ {
			set[c] = true
		}
	}
	return set, nil
}

// parseHexMask reads a CPU mask such as DPDK's lcore_mask ("1e", "0x3"),
// of any length.
func parseHexMask(s string) (cpuSet, error) {
	h := strings.TrimSpace(s)
	h = strings.TrimPrefix(strings.TrimPrefix(h, "0x"), "0X")
	if h == "" || len(h) > maxCPU/4 {
		return nil, fmt.Errorf("%q is not a hex CPU mask such as 1 or 0x6", s)
	}
	set := cpuSet{}
	for i := 0; i < len(h); i++ {
		d, err := strconv.ParseUint(h[len(h)-1-i:len(h)-i], 16, 8)
		if err != nil {
			return nil, fmt.Errorf("%q is not a hex CPU mask such as 1 or 0x6", s)
		}
		for bit := 0; bit < 4; bit++ {
			if d&(1<<bit) != 0 {
				set[i*4+bit] = true
			}
		}
	}
	return set, nil
}

func (s cpuSet) sorted() []int {
	out := make([]int, 0, len(s))
	for c := range s {
		out = append(out, c)
	}
	sort.Ints(out)
	return out
}

// minus is the CPUs of s not in o.
func (s cpuSet) minus(o cpuSet) cpuSet {
	out := cpuSet{}
	for c := range s {
		if !o[c] {
			out[c] = true
		}
	}
	return out
}

// and is the CPUs in both.
func (s cpuSet) and(o cpuSet) cpuSet {
	out := cpuSet{}
	for c := range s {
		if o[c] {
			out[c] = true
		}
	}
	return out
}

// String renders the set in the kernel's list format.
func (s cpuSet) String() string {
	cpus := s.sorted()
	var parts []string
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(cpus[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", cpus[i], cpus[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// subject is "CPU 2 is" or "CPUs 2-3 are", to open a sentence.
func (s cpuSet) subject() string {
	if len(s) == 1 {
		return "CPU " + s.String() + " is"
	}
	return "CPUs " + s.String() + " are"
}
