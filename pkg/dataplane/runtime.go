package dataplane

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/photonctl/photonctl/pkg/host"
)

// FilePrefix is the DPDK file prefix photonctl's fstack engine runs with
// (f-stack.conf [dpdk] file_prefix=photonctl, which F-Stack passes to DPDK as
// --file-prefix=container-photonctl); DPDK names its runtime directory
// /var/run/dpdk/<prefix> and its hugepage files /dev/hugepages/<prefix>map_*.
const FilePrefix = "container-photonctl"

// RuntimeFiles lists the DPDK runtime files of a file prefix under h.
func RuntimeFiles(h *host.Host, prefix string) ([]string, error) {
	if prefix == "" || strings.ContainsAny(prefix, "/*?[") {
		return nil, fmt.Errorf("DPDK file prefix %q: give a plain name", prefix)
	}
	var out []string
	if h.Exists("/var/run/dpdk/" + prefix) {
		out = append(out, "/var/run/dpdk/"+prefix)
	}
	m, err := h.Glob("/dev/hugepages/" + prefix + "map_*")
	if err != nil {
		return out, err
	}
	return append(out, m...), nil
}

// CleanRuntime removes what a killed DPDK process of prefix left behind
// (the runtime directory and the hugepage files) and returns what it removed.
// Call it only when no process of that prefix runs: the fstack engine does,
// before ff_init and after ff_run returns.
func CleanRuntime(h *host.Host, prefix string) ([]string, error) {
	files, err := RuntimeFiles(h, prefix)
	if err != nil {
		return nil, err
	}
	var errs []error
	var removed []string
	for _, f := range files {
		if err := os.RemoveAll(h.Path(f)); err != nil {
			errs = append(errs, fmt.Errorf("removing DPDK leftover %s: %w", f, err))
			continue
		}
		removed = append(removed, f)
	}
	return removed, errors.Join(errs...)
}

// CleanIfUnused is CleanRuntime for a prefix that may not be photonctl's
// (f-stack.conf without file_prefix runs as DPDK's default, "rte"): it
// removes nothing while a live process maps one of the prefix's hugepage
// files. The fstack engine calls it before ff_init; after ff_run returns
// it calls CleanRuntime, since then the files are its own (DPDK let it be
// the primary process of that prefix), mapped by itself alone.
func CleanIfUnused(h *host.Host, prefix string) ([]string, error) {
	if prefixesInUse(h)[prefix] {
		return nil, nil
	}
	return CleanRuntime(h, prefix)
}

// prefixesInUse returns the DPDK file prefixes whose hugepage files some
// process has mapped (from /proc/*/maps).
func prefixesInUse(h *host.Host) map[string]bool {
	inUse := map[string]bool{}
	maps, _ := h.Glob("/proc/[0-9]*/maps")
	for _, m := range maps {
		b, err := h.ReadFile(m)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			i := strings.Index(line, "/dev/hugepages/")
			if i < 0 {
				continue
			}
			name := filepath.Base(strings.Fields(line[i:])[0])
			if j := strings.Index(name, "map_"); j > 0 {
				inUse[name[:j]] = true
			}
		}
	}
	return inUse
}
