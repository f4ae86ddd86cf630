// Package mlnx is the Mellanox (NVIDIA) ConnectX part of photonctl: it finds
// the Mellanox PFs in sysfs, talks to the firmware tools (NVIDIA MFT's mst,
// mlxconfig and mlxfwreset, or the open mstflint's mstconfig and mstfwreset),
// and parses what they and the OFED tools print (mlxconfig/mstconfig query,
// mst status, ibdev2netdev, ofed_info -s).
//
// It brings the setup step "mlnx" (NewStep), which enables SR-IOV in the NIC
// firmware (SRIOV_EN, NUM_OF_VFS; once per card) and installs MLNX_OFED from a
// directory the user unpacked, and the doctor checks of the "mlnx" group
// (Checks).
//
// It is not for creating VFs (package sriov writes sriov_numvfs), nor for
// flashing firmware images, nor for binding drivers: mlx5 PFs and VFs stay on
// mlx5_core (DPDK's mlx5 driver is bifurcated and works through it).
package mlnx
