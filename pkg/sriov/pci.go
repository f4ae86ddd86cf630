package sriov

import (
	"fmt"
	"strconv"
	"strings"
)

// Addr is a PCI function address: domain, bus, device, function.
type Addr struct {
	Domain   uint16
	Bus      uint8
	Device   uint8 // 0..31
	Function uint8 // 0..7
}

// String renders the address the way sysfs names it: 0000:03:00.0.
func (a Addr) String() string {
	return fmt.Sprintf("%04x:%02x:%02x.%x", a.Domain, a.Bus, a.Device, a.Function)
}

// rid is the routing ID within the domain (bus<<8 | dev<<3 | fn).
func (a Addr) rid() int { return int(a.Bus)<<8 | int(a.Device)<<3 | int(a.Function) }

// ParseAddr reads a PCI address such as 0000:03:00.0 or 03:00.0 (domain 0).
// Hex digits may be in either case; the result renders in lower case.
func ParseAddr(s string) (Addr, error) {
	var a Addr
	bad := func(why string) (Addr, error) {
		return Addr{}, fmt.Errorf("%q is not a PCI address such as 0000:03:00.0: %s", s, why)
	}
	rest := s
	parts := strings.Split(rest, ":")
	switch len(parts) {
	case 2:
		parts = append([]string{"0000"}, parts...)
	case 3:
	default:
		return bad("want domain:bus:device.function")
	}
	if len(parts[0]) != 4 || len(parts[1]) != 2 {
		return bad("want a 4-digit domain and a 2-digit bus")
	}
	dev, fn, ok := strings.Cut(parts[2], ".")
	if !ok || len(dev) != 2 || len(fn) != 1 {
		return bad("want a 2-digit device and a 1-digit function after the bus")
	}
	d, err := strconv.ParseUint(parts[0], 16, 16)
	if err != nil {
		return bad("the domain is not hex")
	}
	b, err := strconv.ParseUint(parts[1], 16, 8)
	if err != nil {
		return bad("the bus is not hex")
	}
	dv, err := strconv.ParseUint(dev, 16, 8)
	if err != nil || dv > 0x1f {
		return bad("the device is not hex 00 to 1f")
	}
	f, err := strconv.ParseUint(fn, 8, 8)
	if err != nil {
		return bad("the function is not 0 to 7")
	}
	a = Addr{Domain: uint16(d), Bus: uint8(b), Device: uint8(dv), Function: uint8(f)}
	return a, nil
}

// VFAddr predicts the PCI address of VF i (0-based) of a PF from its
// sriov_offset and sriov_stride, the way the kernel places them
// (pci_iov_virtfn_bus/devfn): routing ID = PF's + offset + i*stride. It lets a
// dry run name VFs that do not exist yet.
func VFAddr(pf Addr, offset, stride, i int) (Addr, error) {
	if offset <= 0 || stride < 0 || i < 0 || (i > 0 && stride == 0) {
		return Addr{}, fmt.Errorf("VF %d of %s: sriov_offset %d and sriov_stride %d place no VF", i, pf, offset, stride)
	}
	r := pf.rid() + offset + i*stride
	if r > 0xffff {
		return Addr{}, fmt.Errorf("VF %d of %s: routing ID %#x is past the last bus", i, pf, r)
	}
	return Addr{Domain: pf.Domain, Bus: uint8(r >> 8), Device: uint8(r>>3) & 0x1f, Function: uint8(r) & 7}, nil
}

// VFAddrs predicts the addresses of VFs 0..n-1 of pf (see VFAddr).
func VFAddrs(pf PF, n int) ([]string, error) {
	a, err := ParseAddr(pf.Addr)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		v, err := VFAddr(a, pf.Offset, pf.Stride, i)
		if err != nil {
			return nil, err
		}
		out = append(out, v.String())
	}
	return out, nil
}
