package mlnx

import (
	"bufio"
	"bytes"
	"strings"
)

// Package is one installed package: name and version.
type Package struct {
	Name    string
	Version string
}

// Argv to list installed packages as "name<TAB>version" lines.
var (
	rpmListArgv  = []string{"rpm", "-qa", "--qf", `%{NAME}\t%{VERSION}-%{RELEASE}\n`}
	dpkgListArgv = []string{"dpkg-query", "-W", "-f", `${Package}\t${Version}\n`}
)

// ParsePackages reads "name<TAB>version" lines (what rpmListArgv and
// dpkgListArgv print). A dpkg name's ":arch" suffix is dropped.
func ParsePackages(b []byte) []Package {
	var out []Package
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		name, ver, ok := strings.Cut(strings.TrimSpace(sc.Text()), "\t")
		if !ok {
			f := strings.Fields(sc.Text())
			if len(f) != 2 {
				continue
			}
			name, ver = f[0], f[1]
		}
		name, _, _ = strings.Cut(strings.TrimSpace(name), ":")
		if name == "" {
			continue
		}
		out = append(out, Package{Name: name, Version: strings.TrimSpace(ver)})
	}
	return out
}

// rdmaPackages are the distro packages MLNX_OFED brings its own builds of.
var rdmaPackages = map[string]bool{
	"rdma-core": true, "rdma-core-devel": true, "libibverbs": true, "libibverbs-utils": true,
	"librdmacm": true, "librdmacm-utils": true, "libibumad": true, "infiniband-diags": true,
	"ibverbs-utils": true, "ibverbs-providers": true, "libibverbs1": true, "libibverbs-dev": true,
	"librdmacm1": true, "librdmacm-dev": true, "rdmacm-utils": true, "libibumad3": true,
}

// DistroRDMA returns the installed rdma packages that are the distro's own,
// not MLNX_OFED's (whose versions carry "mlnx").
func DistroRDMA(pkgs []Package) []Package {
	var out []Package
	for _, p := range pkgs {
		if rdmaPackages[p.Name] && !strings.Contains(strings.ToLower(p.Version), "mlnx") {
			out = append(out, p)
		}
	}
	return out
}
