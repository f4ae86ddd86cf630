package dataplane

import (
	"regexp"
	"strings"
)

// What make fstack stamps into photonctl (-ldflags -X, from the F-Stack tree
// at FF_PATH; FstackVersion, in preflight.go, is the release linked in):
// FstackBuiltFrom is that FF_PATH, FstackFlowIsolate is "yes" when its
// libfstack.a references rte_flow_isolate (built with FF_FLOW_ISOLATE) and
// "no" when not. Empty when the build did not say (a plain go build -tags
// fstack).
var (
	FstackBuiltFrom   = ""
	FstackFlowIsolate = ""
)

// Linked is what a photonctl built with the fstack tag carries and loads:
// the F-Stack linked into it (a static library, so what the build stamped)
// and the DPDK its shared libraries come from at run time.
type Linked struct {
	Fstack      string // F-Stack release linked in ("1.24"), "" when not stamped
	BuiltFrom   string // the FF_PATH it was built from, "" when not stamped
	FlowIsolate string // "yes", "no", or "" when not stamped
	DPDK        string // the loaded DPDK's release ("22.11.11"), from rte_version()
	DPDKLib     string // the file the loaded librte_eal comes from, "" when unknown
}

// loadedDPDK says rte_version() and the file of the librte_eal that is
// loaded; fstack.go sets it. Nil in a build without the fstack tag.
var loadedDPDK func() (version, lib string)

// LinkedFstack is the F-Stack and DPDK this photonctl carries; nil in a build
// without the fstack tag (the kernel engine only).
func LinkedFstack() *Linked {
	if loadedDPDK == nil {
		return nil
	}
	v, lib := loadedDPDK()
	return &Linked{Fstack: FstackVersion, BuiltFrom: FstackBuiltFrom, FlowIsolate: FstackFlowIsolate,
		DPDK: ParseRteVersion(v), DPDKLib: lib}
}

var rteVersionRe = regexp.MustCompile(`^(?:DPDK\s+)?(\d+\.\d+(?:\.\d+)?(?:-[0-9A-Za-z.]+)?)$`)

// ParseRteVersion is the release in what rte_version() says ("DPDK
// 22.11.11" gives "22.11.11", "DPDK 23.11.0-rc1" "23.11.0-rc1"); "" when it
// is no DPDK version.
func ParseRteVersion(s string) string {
	m := rteVersionRe.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return ""
	}
	return m[1]
}
