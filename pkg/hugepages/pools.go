package hugepages

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/photonctl/photonctl/pkg/host"
)

// AllNodes stands for the global pool, as opposed to one NUMA node's.
const AllNodes = -1

// Pool is one hugepage pool: global or one NUMA node's, of one page size.
type Pool struct {
	SizeKB int
	Node   int // AllNodes for the global pool
	Nr     int64
	Free   int64
	Resv   int64
	Surp   int64
}

// Dir is the pool's sysfs folder.
func (p Pool) Dir() string { return PoolDir(p.SizeKB, p.Node) }

// PoolDir is the sysfs folder of a pool.
func PoolDir(sizeKB, node int) string {
	if node == AllNodes {
		return fmt.Sprintf("/sys/kernel/mm/hugepages/hugepages-%dkB", sizeKB)
	}
	return fmt.Sprintf("/sys/devices/system/node/node%d/hugepages/hugepages-%dkB", node, sizeKB)
}

// NrPath is the attribute that reserves pages in a pool.
func NrPath(sizeKB, node int) string { return PoolDir(sizeKB, node) + "/nr_hugepages" }

// SizeName renders a page size the way people write it: 2M, 1G.
func SizeName(kb int) string {
	switch {
	case kb%(1024*1024) == 0:
		return fmt.Sprintf("%dG", kb/(1024*1024))
	case kb%1024 == 0:
		return fmt.Sprintf("%dM", kb/1024)
	}
	return fmt.Sprintf("%dkB", kb)
}

// ReadPool reads one pool. A missing pool folder means the kernel does not
// support that page size (or the node does not exist).
func ReadPool(h *host.Host, sizeKB, node int) (Pool, error) {
	p := Pool{SizeKB: sizeKB, Node: node}
	dir := p.Dir()
	if !h.Exists(dir) {
		if node != AllNodes && !h.Exists(fmt.Sprintf("/sys/devices/system/node/node%d", node)) {
			return p, noPool(fmt.Sprintf("NUMA node %d does not exist on this host", node))
		}
		return p, noPool(fmt.Sprintf("the kernel has no %s hugepages (%s is missing)", SizeName(sizeKB), dir))
	}
	var err error
	if p.Nr, err = h.ReadInt(dir + "/nr_hugepages"); err != nil {
		return p, err
	}
	if p.Free, err = h.ReadInt(dir + "/free_hugepages"); err != nil {
		return p, err
	}
	// resv_hugepages exists only in the global pool.
	if node == AllNodes {
		if p.Resv, err = h.ReadInt(dir + "/resv_hugepages"); err != nil && !host.IsNotExist(err) {
			return p, err
		}
	}
	if p.Surp, err = h.ReadInt(dir + "/surplus_hugepages"); err != nil && !host.IsNotExist(err) {
		return p, err
	}
	return p, nil
}

// Nodes lists the host's NUMA nodes; a host without the node folder (no NUMA
// in the kernel) has none.
func Nodes(h *host.Host) ([]int, error) {
	m, err := h.Glob("/sys/devices/system/node/node[0-9]*")
	if err != nil {
		return nil, err
	}
	var out []int
	for _, p := range m {
		n, err := strconv.Atoi(strings.TrimPrefix(path.Base(p), "node"))
		if err == nil {
			out = append(out, n)
		}
	}
	sort.Ints(out)
	return out, nil
}

// Sizes lists the page sizes the kernel supports, in kB.
func Sizes(h *host.Host) ([]int, error) {
	m, err := h.Glob("/sys/kernel/mm/hugepages/hugepages-*kB")
	if err != nil {
		return nil, err
	}
	var out []int
	for _, p := range m {
		s := strings.TrimSuffix(strings.TrimPrefix(path.Base(p), "hugepages-"), "kB")
		if n, err := strconv.Atoi(s); err == nil {
			out = append(out, n)
		}
	}
	sort.Ints(out)
	return out, nil
}

// ErrNoPool is a hugepage pool (size, node) the host does not have.
var ErrNoPool = errors.New("no such hugepage pool")

type noPool string

func (e noPool) Error() string        { return string(e) }
func (e noPool) Is(target error) bool { return target == ErrNoPool }
