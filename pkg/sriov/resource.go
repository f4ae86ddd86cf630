package sriov

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Resource is one line of a PCI function's sysfs "resource" file.
type Resource struct {
	Start, End, Flags uint64
}

// IOVResourceFirst is the index of the first VF BAR in the resource file
// (PCI_IOV_RESOURCES: after six BARs and the expansion ROM).
const IOVResourceFirst = 7

// ParseResources reads a sysfs "resource" file: one "start end flags" line
// per resource, each a 0x-prefixed hex number.
func ParseResources(r io.Reader) ([]Resource, error) {
	var out []Resource
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 {
			return nil, fmt.Errorf("resource line %d: want start end flags, found %q", line, sc.Text())
		}
		var v [3]uint64
		for i, s := range f {
			n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(s), "0x"), 16, 64)
			if err != nil {
				return nil, fmt.Errorf("resource line %d: %q is not a hex number", line, s)
			}
			v[i] = n
		}
		out = append(out, Resource{v[0], v[1], v[2]})
	}
	return out, sc.Err()
}

// UnassignedVFBARs lists the VF BARs (0-based) that the device has (non-zero
// flags) but that got no MMIO space (start 0): creating VFs then fails with
// ENOMEM, the case pci=realloc is for.
func UnassignedVFBARs(res []Resource) []int {
	var out []int
	for i := IOVResourceFirst; i < len(res) && i < IOVResourceFirst+6; i++ {
		if res[i].Flags != 0 && res[i].Start == 0 {
			out = append(out, i-IOVResourceFirst)
		}
	}
	return out
}
