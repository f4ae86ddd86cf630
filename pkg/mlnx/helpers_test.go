package mlnx

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// output returns a tool output fixture from testdata/ without its "# "
// comment lines (where each fixture cites the format it follows).
func output(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if strings.HasPrefix(l, "# ") {
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "")
}
