package dpdkenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/doctor"
	"github.com/photonctl/photonctl/pkg/dpdkenv/dpdkenvtest"
	"github.com/photonctl/photonctl/pkg/host"
)

// The look-alike archive builders live in dpdkenvtest, shared with the
// command's doctor tests.
type arFile = dpdkenvtest.ArFile

func elfObject(defined, undefined []string) []byte { return dpdkenvtest.ELFObject(defined, undefined) }

func arArchive(files []arFile, index map[string]int) []byte {
	return dpdkenvtest.ArArchive(files, index)
}

func fakeLibfstack(flowIsolate bool) []byte { return dpdkenvtest.FakeLibfstack(flowIsolate) }

// writeHostFile writes a file under the host root (test setup only).
func writeHostFile(t testing.TB, h *host.Host, p string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(h.Path(p)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(h.Path(p), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// render is the results as doctor's text lines, for golden files.
func render(rs []doctor.Result) []byte {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "%-4s %s: %s\n", r.Status, r.ID, r.Detail)
		if r.Fix != "" {
			fmt.Fprintf(&b, "     fix: %s\n", r.Fix)
		}
	}
	return []byte(b.String())
}
