package fstackconf

import (
	"regexp"

	"github.com/photonctl/photonctl/pkg/spec"
)

var vdevRe = regexp.MustCompile(`^net_[a-z][a-z0-9_]*[0-9]+$`)

// IsVdev reports whether an allow-list entry names a DPDK virtual device
// (net_tap0, net_pcap1): DPDK takes those where it takes PCI addresses, and
// the lab's tap device is one.
func IsVdev(s string) bool { return vdevRe.MatchString(s) }

// IsAllowListDevice reports whether s can stand in the allow-list: a PCI
// address or a DPDK virtual device.
func IsAllowListDevice(s string) bool { return spec.IsPCIAddress(s) || IsVdev(s) }
