package hugepages

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/host"
)

// fakeKernel plays the kernel's part on a fixture tree: a write to a pool's
// nr_hugepages gives at most limit pages (all of them free), and the global
// pool follows the nodes.
type fakeKernel struct {
	t      *testing.T
	limit  int64 // -1: no limit
	writes []string
	mounts []string
}

func (k *fakeKernel) write(ctx context.Context, h *host.Host, p, v string) (string, error) {
	k.writes = append(k.writes, p+"="+v)
	if !strings.HasSuffix(p, "/nr_hugepages") {
		return h.WriteSysfs(ctx, p, v, 0)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return "", fmt.Errorf("fake kernel: %q is not a number", v)
	}
	if k.limit >= 0 && n > k.limit {
		n = k.limit
	}
	dir := strings.TrimSuffix(p, "/nr_hugepages")
	for _, a := range []string{"nr_hugepages", "free_hugepages"} {
		if err := os.WriteFile(h.Path(dir, a), []byte(strconv.FormatInt(n, 10)+"\n"), 0o644); err != nil {
			return "", err
		}
	}
	if strings.HasPrefix(p, "/sys/devices/system/node/") {
		size := dir[strings.LastIndex(dir, "/")+1:]
		nodes, _ := h.Glob("/sys/devices/system/node/node*/hugepages/" + size + "/nr_hugepages")
		var sum int64
		for _, np := range nodes {
			x, _ := h.ReadInt(np)
			sum += x
		}
		for _, a := range []string{"nr_hugepages", "free_hugepages"} {
			os.WriteFile(h.Path("/sys/kernel/mm/hugepages", size, a), []byte(strconv.FormatInt(sum, 10)+"\n"), 0o644)
		}
	}
	return h.ReadString(p)
}

// mount records the mount and shows it in the fixture's /proc/mounts.
func (k *fakeKernel) mountFor(h *host.Host) func(target, opts string) error {
	return func(target, opts string) error {
		k.mounts = append(k.mounts, h.Rel(target)+" "+opts)
		f, err := os.OpenFile(h.Path("/proc/mounts"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		o := "rw,relatime"
		if opts != "" {
			o += "," + opts
		}
		_, err = fmt.Fprintf(f, "nodev %s hugetlbfs %s 0 0\n", h.Rel(target), o)
		return err
	}
}

func newTestStep(t *testing.T, h *host.Host, limit int64) (*Step, *fakeKernel) {
	k := &fakeKernel{t: t, limit: limit}
	s := NewStep()
	s.Backoff = 0
	s.write = k.write
	s.mount = k.mountFor(h)
	return s, k
}
