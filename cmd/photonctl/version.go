package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/photonctl/photonctl/pkg/dataplane"
)

// The build stamps these with -ldflags "-X main.version=... -X main.commit=..."
// (make build and make static do, from build/version.sh: git describe, the
// commit, the build time in UTC and whether the tree had uncommitted changes).
// A plain go build leaves them empty, and versionInfo says what it knows.
var (
	version string // semantic version: v1.2.3, v1.2.3-4-gabcdef012345 after a tag, v0.0.0-N-gabcdef012345 before any
	commit  string // full commit hash
	date    string // build time, RFC 3339 UTC
	dirty   string // "true" when the tree had uncommitted changes
)

// buildInfo is what `photonctl version` says, and its JSON document.
type buildInfo struct {
	Schema  int      `json:"schema"`
	Version string   `json:"version"`
	Commit  string   `json:"commit"`
	Date    string   `json:"date"`
	Dirty   bool     `json:"dirty"`
	Go      string   `json:"go"`
	OS      string   `json:"os"`
	Arch    string   `json:"arch"`
	Engines []string `json:"engines"`
}

// versionInfo is this binary's buildInfo: the stamped values, else what the
// Go toolchain recorded (go install module@version sets the module version,
// a build with VCS stamping the commit), else "unknown".
func versionInfo() buildInfo {
	b := buildInfo{Schema: 1, Version: version, Commit: commit, Date: date, Dirty: dirty == "true",
		Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH, Engines: dataplane.Engines()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			b.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && b.Commit == "":
				b.Commit = s.Value
			case s.Key == "vcs.time" && b.Date == "":
				b.Date = s.Value
			case s.Key == "vcs.modified" && dirty == "":
				b.Dirty = s.Value == "true"
			}
		}
	}
	if b.Version == "" {
		b.Version = "v0.0.0-unknown"
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	if b.Date == "" {
		b.Date = "unknown"
	}
	return b
}

func writeVersion(g *globalOptions) error {
	b := versionInfo()
	if g.JSON() {
		return writeJSON(g.Out, b)
	}
	printVersion(g.Out, b)
	return nil
}

func printVersion(w io.Writer, b buildInfo) {
	tree := "clean tree"
	switch {
	case b.Dirty:
		tree = "dirty tree: uncommitted changes"
	case b.Commit == "unknown":
		tree = "not stamped: built without make"
	}
	fmt.Fprintf(w, "photonctl %s\n", b.Version)
	fmt.Fprintf(w, "  commit   %s (%s)\n", b.Commit, tree)
	fmt.Fprintf(w, "  built    %s with %s for %s/%s\n", b.Date, b.Go, b.OS, b.Arch)
	fmt.Fprintf(w, "  engines  %s\n", strings.Join(b.Engines, ", "))
}

func newVersionCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print photonctl's version, commit, build date and engines",
		Long: `Print photonctl's version (a semantic version from the git tags it was built
from: v1.2.3 on a tag, v1.2.3-4-gCOMMIT four commits after it, v0.0.0-N-gCOMMIT
before the first tag), the commit, the build date, whether the tree had
uncommitted changes, and the dataplane engines built in. photonctl --version
prints the same.`,
		Example: `  photonctl version
  photonctl version -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return writeVersion(g)
		},
	}
}

// engines lists the dataplane engines built in.
func engines() []string { return dataplane.Engines() }
