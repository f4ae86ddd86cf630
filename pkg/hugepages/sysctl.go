package hugepages

import (
	"bufio"
	"bytes"
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/photonctl/photonctl/pkg/host"
)

// SysctlDirs are the folders systemd-sysctl reads at boot, the first
// winning for a file name present in several.
var SysctlDirs = []string{"/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d"}

// SysctlSetting is one key = value line of a sysctl.d file.
type SysctlSetting struct {
	Key, Value string
	Line       int
}

// ParseSysctl reads a sysctl.d file as systemd-sysctl does: key = value
// lines, '#' and ';' comments, a leading '-' (ignore a failed write) and
// '/' separators in the key (vm/nr_hugepages is vm.nr_hugepages). Lines
// that are not key = value are skipped, as systemd-sysctl skips them.
func ParseSysctl(b []byte) []SysctlSetting {
	var out []SysctlSetting
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	n := 0
	for sc.Scan() {
		n++
		l := strings.TrimSpace(sc.Text())
		if l == "" || l[0] == '#' || l[0] == ';' {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			continue
		}
		k = strings.TrimPrefix(strings.TrimSpace(k), "-")
		k = strings.ReplaceAll(strings.TrimSpace(k), "/", ".")
		if k == "" {
			continue
		}
		out = append(out, SysctlSetting{Key: k, Value: strings.TrimSpace(v), Line: n})
	}
	return out
}

// BootSysctl is the value systemd-sysctl gives key at boot: every *.conf of
// SysctlDirs, a file name in an earlier folder hiding the same name in a
// later one (a link to /dev/null masks it), read in the order of their
// names, the last setting winning; then /etc/sysctl.conf, unless one of
// those files is it (Debian's and EL's 99-sysctl.conf link). where names
// the file and line; found is false when nothing sets key.
func BootSysctl(h *host.Host, key string) (value, where string, found bool, err error) {
	order, err := sysctlOrder(h)
	if err != nil {
		return "", "", false, err
	}
	return lastSetting(h, order, key)
}

// SysctlAfter is the last setting of key in the files systemd-sysctl reads
// after the one named name (a base name in /etc/sysctl.d): what overrides
// it at boot.
func SysctlAfter(h *host.Host, name, key string) (value, where string, found bool, err error) {
	order, err := sysctlOrder(h)
	if err != nil {
		return "", "", false, err
	}
	var after []string
	for _, f := range order {
		if f == "/etc/sysctl.conf" || path.Base(f) > name {
			after = append(after, f)
		}
	}
	return lastSetting(h, after, key)
}

// sysctlOrder lists the files systemd-sysctl reads, in its order.
func sysctlOrder(h *host.Host) ([]string, error) {
	chosen := map[string]string{}
	for _, d := range SysctlDirs {
		files, err := h.Glob(d + "/*.conf")
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			if _, ok := chosen[path.Base(f)]; !ok {
				chosen[path.Base(f)] = f
			}
		}
	}
	names := make([]string, 0, len(chosen))
	for n := range chosen {
		names = append(names, n)
	}
	sort.Strings(names)
	etcConf, _ := filepath.EvalSymlinks(h.Path("/etc/sysctl.conf"))
	var order []string
	sawEtc := false
	for _, n := range names {
		f := chosen[n]
		if t, err := filepath.EvalSymlinks(h.Path(f)); err == nil {
			if h.Rel(t) == "/dev/null" || t == "/dev/null" {
				continue // masked
			}
			if etcConf != "" && t == etcConf {
				sawEtc = true
			}
		}
		order = append(order, f)
	}
	if !sawEtc && h.Exists("/etc/sysctl.conf") {
		order = append(order, "/etc/sysctl.conf")
	}
	return order, nil
}

// lastSetting reads key's last setting in the files, in order.
func lastSetting(h *host.Host, order []string, key string) (value, where string, found bool, err error) {
	for _, f := range order {
		b, err := h.ReadFile(f)
		if err != nil {
			if host.IsNotExist(err) {
				continue
			}
			return "", "", false, fmt.Errorf("reading %s: %w", f, err)
		}
		for _, s := range ParseSysctl(b) {
			if s.Key == key {
				value, where, found = s.Value, fmt.Sprintf("%s line %d", f, s.Line), true
			}
		}
	}
	return value, where, found, nil
}
