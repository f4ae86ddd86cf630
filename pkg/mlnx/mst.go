package mlnx

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// MSTDevice is one device `mst status` lists.
type MSTDevice struct {
	Path string // "/dev/mst/mt4117_pciconf0", "/dev/mst/mt4117_pciconf0.1"
	PCI  string // "0000:03:00.0" (domain added where mst leaves it out)
	Type string // "ConnectX4LX(rev:0)"; -v only
	RDMA string // "mlx5_0"; -v only
	Net  []string
	NUMA int // -1 when unknown
}

var (
	mstPathRe   = regexp.MustCompile(`^(/dev/mst/)?mt\d+_\S+$`)
	mstPCIKeyRe = regexp.MustCompile(`domain:bus:dev\.fn=([0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7])`)
	pciTokRe    = regexp.MustCompile(`^([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$`)
)

// ParseMSTStatus reads `mst status` or `mst status -v` (Linux). The plain form
// names each device on a line of its own followed by a
// "domain:bus:dev.fn=0000:03:00.0" line; the -v form is a table
// (DEVICE_TYPE MST PCI RDMA NET NUMA) whose RDMA and NET cells may be empty,
// so its cells are recognised by their shape, not their position. A row
// folded onto the next line (a NUMA cell alone) is joined.
func ParseMSTStatus(r io.Reader) ([]MSTDevice, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	var out []MSTDevice
	var last *MSTDevice
	for sc.Scan() {
		t := strings.TrimSpace(sc.Text())
		if t == "" {
			continue
		}
		if m := mstPCIKeyRe.FindStringSubmatch(t); m != nil {
			if last != nil && last.PCI == "" {
				last.PCI = strings.ToLower(m[1])
			}
			continue
		}
		f := strings.Fields(t)
		idx := -1
		for i, x := range f {
			if mstPathRe.MatchString(x) {
				idx = i
				break
			}
		}
		if idx < 0 {
			// A lone NUMA cell of a folded -v row.
			if last != nil && len(f) == 1 && last.Type != "" {
				if n, err := strconv.Atoi(f[0]); err == nil {
					last.NUMA = n
				}
			}
			continue
		}
		d := MSTDevice{Path: f[idx], NUMA: -1}
		if !strings.HasPrefix(d.Path, "/dev/mst/") {
			d.Path = "/dev/mst/" + d.Path
		}
		if idx > 0 {
			d.Type = f[0]
		}
		for _, x := range f[idx+1:] {
			switch {
			case pciTokRe.MatchString(x):
				d.PCI = normPCI(x)
			case strings.HasPrefix(x, "net-"):
				for _, n := range strings.Split(x, ",") {
					if n = strings.TrimPrefix(n, "net-"); n != "" {
						d.Net = append(d.Net, n)
					}
				}
			case strings.HasPrefix(x, "mlx") && strings.Contains(x, "_"):
				d.RDMA = x
			default:
				if n, err := strconv.Atoi(x); err == nil && d.Type != "" {
					d.NUMA = n
				}
			}
		}
		out = append(out, d)
		last = &out[len(out)-1]
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading mst status: %w", err)
	}
	return out, nil
}

// normPCI adds the domain to a short PCI address and lower-cases it.
func normPCI(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if strings.Count(s, ":") == 1 {
		s = "0000:" + s
	}
	return s
}
