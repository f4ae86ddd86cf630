package fstackconf

import (
	"fmt"
	"strconv"
)

// F-Stack 1.24's sizes of its packet buffer pool (lib/ff_memory.h,
// lib/ff_config.h, lib/ff_dpdk_if.c; FF_KNI on, as lib/Makefile builds it).
const (
	rxQueueSize      = 512  // RX_QUEUE_SIZE: descriptors per RX queue
	txQueueSize      = 512  // TX_QUEUE_SIZE
	maxPktBurst      = 32   // MAX_PKT_BURST
	mempoolCacheSize = 256  // MEMPOOL_CACHE_SIZE: per-lcore cache
	kniMbufMax       = 2048 // KNI_MBUF_MAX (FF_KNI)
	kniQueueSize     = 2048 // KNI_QUEUE_SIZE (FF_KNI)
	dispatchRingSize = 2048 // DISPATCH_RING_SIZE
	msgRingSize      = 32   // MSG_RING_SIZE
	maxMsgBufSize    = 10240

	// MbufBytes is the room one mbuf of F-Stack's pool takes in DPDK's
	// memory: RTE_MBUF_DEFAULT_BUF_SIZE (2176 B of data room and headroom),
	// struct rte_mbuf (128 B) and the mempool's object header (64 B, one
	// cache line); 37 cache lines, which DPDK's channel spreading leaves as
	// they are.
	MbufBytes = 2176 + 128 + 64

	// MarginMB is what DPDK takes beside F-Stack's pools: its heap and
	// memzones, the per-lcore mempool caches in each pool's header, the
	// rings, and the PMD's descriptor and software rings. Measured in the
	// lab (docs/fstack-conf.md): with 1 lcore and 1 port the pools are 38 MB
	// and F-Stack starts and serves from 42 MB (21 pages of 2 MB), not from
	// 40; the margin is four times the 4 MB seen there, for a real NIC's
	// PMD and for more lcores.
	MarginMB = 16
)

// Memory is what F-Stack's DPDK needs, worked out from the lcores and the
// ports of an f-stack.conf.
type Memory struct {
	Lcores, Ports, MaxPort int
	Mbufs                  int // mbufs in F-Stack's pool (init_mem_pool)
	PoolBytes              int // the pool and the message pool, in bytes
	// MB is [dpdk] memory: the pools, MarginMB, rounded up to a whole
	// number of hugepages.
	MB     int
	PageMB int
}

// Mbufs is the size of F-Stack 1.24's mbuf pool (lib/ff_dpdk_if.c
// init_mem_pool), for one process on lcores lcores driving ports ports
// whose highest port ID is maxPort. nb_tx_queue is nb_lcores; nb_rx_queue is
// the lcore's RX queues (one per port) times nb_lcores.
func Mbufs(lcores, ports, maxPort int) int {
	rxq := ports * lcores
	n := rxq*(maxPort+1)*2*rxQueueSize +
		ports*(maxPort+1)*2*lcores*maxPktBurst +
		ports*(maxPort+1)*2*lcores*txQueueSize +
		lcores*mempoolCacheSize +
		ports*kniMbufMax + ports*kniQueueSize +
		lcores*ports*dispatchRingSize
	return (n + 8191) / 8192 * 8192
}

// NeedMemory works out [dpdk] memory for lcores lcores and the ports in
// portList, in whole pages of pageKB.
func NeedMemory(lcores int, portList []int, pageKB int) Memory {
	m := Memory{Lcores: lcores, Ports: len(portList), PageMB: pageKB / 1024}
	if m.Lcores < 1 {
		m.Lcores = 1
	}
	if m.Ports < 1 {
		m.Ports = 1
	}
	for _, p := range portList {
		m.MaxPort = max(m.MaxPort, p)
	}
	m.Mbufs = Mbufs(m.Lcores, m.Ports, m.MaxPort)
	// init_msg_ring: MSG_RING_SIZE*2 messages per process of MAX_MSG_BUF_SIZE.
	m.PoolBytes = m.Mbufs*MbufBytes + m.Lcores*msgRingSize*2*maxMsgBufSize
	mb := (m.PoolBytes+(1<<20)-1)>>20 + MarginMB
	if m.PageMB < 1 {
		m.PageMB = 1
	}
	m.MB = (mb + m.PageMB - 1) / m.PageMB * m.PageMB
	return m
}

// String says how the number was found.
func (m Memory) String() string {
	return fmt.Sprintf("memory=%d MB: %d mbufs of %d B for %d lcore(s) and %d port(s) (F-Stack's init_mem_pool), %d MB for DPDK beside them, in %d MB pages",
		m.MB, m.Mbufs, MbufBytes, m.Lcores, m.Ports, MarginMB, m.PageMB)
}

// memoryOf reads the lcores and ports of f and works out its memory.
func memoryOf(f *File, pageKB int) Memory {
	lcores := 1
	if s, ok := f.Get("dpdk", "lcore_mask"); ok {
		if cpus, err := ParseMask(s); err == nil && len(cpus) > 0 {
			lcores = len(cpus)
		}
	}
	ports := []int{0}
	if s, ok := f.Get("dpdk", "port_list"); ok {
		if l, err := ParseList(s); err == nil && len(l) > 0 {
			ports = l
		}
	}
	return NeedMemory(lcores, ports, pageKB)
}

// fileMemory is the file's [dpdk] memory in MB, 0 when it has none or
// one that is not a number.
func fileMemory(f *File) int {
	s, ok := f.Get("dpdk", "memory")
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0
	}
	return n
}
