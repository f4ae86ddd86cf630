// Package sriov finds a host's physical network functions and their SR-IOV
// virtual functions, and is the `sriov` setup step and the `sriov` doctor
// group: create N VFs on the chosen PF (writing 0 then N to sriov_numvfs,
// each write bounded, then waiting with progress until the virtfnN links and
// their netdevs exist), set per-VF MAC, trust, spoof check and VLAN through
// netlink, bind Intel VFs to vfio-pci, and install a systemd oneshot unit
// that makes the VFs again at every boot, before network-pre.target.
//
// Discovery (Discover, DiscoverPF, SelectPF, SelectPFs, VFAddrs) is exported
// for other steps: the mlnx step and the fstack step (which needs the VF PCI
// addresses in a dry run, before they exist) use it.
//
// Where facts come from: sysfs, read directly under the host root, for every
// fact (IDs, driver, NUMA node, netdevs and operstate, sriov_* attributes,
// virtfn links). jaypipes/ghw is used for what it is good at, the vendor and
// device names, chrooted at the same root and given the root's own pci.ids
// (pcidb with an explicit path and network fetching switched off, since pcidb
// otherwise reads $HOME/.cache outside the root and fetches from the network
// when PCIDB_ENABLE_NETWORK_FETCH is set). ghw is not used for the facts:
// its PCI scan drops the whole device list when one function lacks a
// modalias, it reports no SR-IOV attributes, and its NUMA detection reads
// the topology of the machine it runs on; where ghw gives no names the same
// pci.ids is looked up directly.
//
// The unit is enabled with `systemctl enable` through the runner (chrooted
// into a --root that is not "/", where systemctl works on the files without
// a running systemd) rather than by writing the .wants link, so that
// [Install] and presets are honoured.
//
// It is not for Mellanox firmware (SRIOV_EN, NUM_OF_VFS: package mlnx), the
// kernel command line (intel_iommu, pci=realloc: the grub step) or
// interface names across reboots (the names step). It never binds mlx5
// functions to vfio-pci: mlx5 is a bifurcated driver.
package sriov
