// Package dpdkenv holds photonctl's doctor checks of the DPDK and F-Stack
// toolchain, the checks that belong to no setup step (group "dpdk"): DPDK
// installed and matching F-Stack, pkg-config new enough, libfstack.a present
// and whether it was built with FF_FLOW_ISOLATE, the mlx5 PMD's user-space
// libraries, stale DPDK runtime files holding hugepages, the lcores of
// f-stack.conf, and the opt-in dpdk-testpmd probe.
//
// It also has a reader of ar archives (static libraries) that lists each
// member's ELF symbols with debug/elf, so that no nm is needed.
//
// It is not for setting anything up: it changes nothing on the host, and it
// neither builds nor installs DPDK or F-Stack. f-stack.conf is read with a
// tiny key lookup of its own (lcore_mask, pci_whitelist); the real parser and
// the checks of that file belong to pkg/fstackconf.
package dpdkenv
