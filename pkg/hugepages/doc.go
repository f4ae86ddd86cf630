// Package hugepages reserves hugepages for a DPDK dataplane and checks them:
// the `hugepages` setup step and the hugepages doctor checks.
//
// It reserves through sysfs (globally, or per NUMA node through the node's
// own files), reads back what the kernel gave and retries a bounded number of
// times, makes sure hugetlbfs is mounted, and persists the reservation across
// reboots: a sysctl.d file for pages of the default size, kernel arguments
// (handed to the grub step) otherwise. It is not for transparent hugepages,
// nor for cleaning up a dataplane's hugepage files (see pkg/dataplane).
package hugepages
