package fstackconf

// template is photonctl's own starting point for a host without an
// f-stack.conf. The keys setup manages are filled in afterwards; the rest
// are plain defaults a reader can change.
const template = `# f-stack.conf, first written by photonctl.
#
# F-Stack reads this file when the dataplane starts. photonctl setup keeps
# the keys it manages (the allow-list, lcore_mask, pkt_tx_delay and [port0])
# in step with the host and leaves every other line as you write it.
# Validate your edits with: photonctl conf check

[dpdk]
# CPUs the F-Stack process may run on, as a hexadecimal mask.
lcore_mask=1
# Memory channels per socket.
channel=4
# MB of hugepage memory DPDK takes: photonctl setup sizes memory for
# F-Stack's pools (a larger value is kept); without it DPDK takes what it finds.
promiscuous=1
numa_on=1
# Leave checksums and segmentation to the stack, not the NIC.
tx_csum_offoad_skip=0
tso=0
vlan_strip=1
# Microseconds to sleep when no packet came in; 0 polls without pause.
idle_sleep=0
# Microseconds to hold packets for batching before sending; 0 sends at once.
pkt_tx_delay=100
symmetric_rss=0
# Ports F-Stack drives, by DPDK port number; each has a [portN] below.
port_list=0
nb_vdev=0
nb_bond=0

[port0]
# F-Stack's address: the PF's, shared with the kernel (mlx5: F-Stack owns
# its TCP port only), or one of its own on that network (--fstack-addr).
addr=198.51.100.2
netmask=255.255.255.0
broadcast=198.51.100.255
gateway=198.51.100.1

[freebsd.boot]
hz=100
fd_reserve=1024

[freebsd.sysctl]
kern.ipc.somaxconn=32768
`
