// Command fstackstamp prints the -ldflags options with which make fstack
// stamps into photonctl the F-Stack it links (docs/dpdk-toolchain.md): the
// release of the tree or install prefix at FF_PATH, read as every photonctl
// command reads it (VERSION, F-STACK_VERSION in lib/Makefile, ...), FF_PATH
// itself, and whether lib/libfstack.a references rte_flow_isolate (F-Stack
// built with FF_FLOW_ISOLATE). doctor says them in a photonctl built with
// F-Stack; the running binary cannot read them off a static library.
//
//	go run ./internal/fstackstamp FF_PATH
//
// It reads only; it exits 1, saying why, when FF_PATH has no readable
// libfstack.a (the link would fail anyway).
package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/photonctl/photonctl/pkg/dpdkenv"
	"github.com/photonctl/photonctl/pkg/host"
)

// dataplane is the package whose variables hold the stamp (linked.go,
// preflight.go).
const dataplane = "github.com/photonctl/photonctl/pkg/dataplane"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, out, errw io.Writer) int {
	if len(args) != 1 || args[0] == "" {
		fmt.Fprintln(errw, "usage: fstackstamp FF_PATH (F-Stack's tree, or the prefix it is installed in)")
		return 2
	}
	ffPath, err := filepath.Abs(args[0])
	if err != nil {
		fmt.Fprintf(errw, "fstackstamp: %v\n", err)
		return 1
	}
	h, err := host.New("/")
	if err != nil {
		fmt.Fprintf(errw, "fstackstamp: %v\n", err)
		return 1
	}
	st, err := dpdkenv.StampOf(h, ffPath)
	if err != nil {
		fmt.Fprintf(errw, "fstackstamp: %v\n", err)
		return 1
	}
	if st.Version == "" {
		fmt.Fprintf(errw, "fstackstamp: %s says no F-Stack release (no VERSION, no F-STACK_VERSION in lib/Makefile, no RELEASE_NOTES.md, no version in its name): doctor will not check the DPDK it loads against it\n", ffPath)
	}
	flags, err := ldflags(st)
	if err != nil {
		fmt.Fprintf(errw, "fstackstamp: %v\n", err)
		return 1
	}
	fmt.Fprintln(out, flags)
	return 0
}

// ldflags are the -X options of the stamp, quoted as go build's -ldflags
// splits them.
func ldflags(st dpdkenv.Stamp) (string, error) {
	isolate := "no"
	if st.FlowIsolate {
		isolate = "yes"
	}
	var parts []string
	for _, kv := range [][2]string{
		{"FstackVersion", st.Version},
		{"FstackBuiltFrom", st.BuiltFrom},
		{"FstackFlowIsolate", isolate},
	} {
		if kv[1] == "" {
			continue
		}
		q, err := quote(dataplane + "." + kv[0] + "=" + kv[1])
		if err != nil {
			return "", err
		}
		parts = append(parts, "-X", q)
	}
	return strings.Join(parts, " "), nil
}

// quote puts s in quotes when it has a space or a quote, as cmd/go splits
// -ldflags: single or double quotes around a field, nothing escaped inside.
func quote(s string) (string, error) {
	switch {
	case !strings.ContainsAny(s, " \t\n'\""):
		return s, nil
	case !strings.Contains(s, "'"):
		return "'" + s + "'", nil
	case !strings.Contains(s, `"`):
		return `"` + s + `"`, nil
	}
	return "", fmt.Errorf("%q has both kinds of quotes, which go build's -ldflags cannot carry: move F-Stack to a plainer path", s)
}
