package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/dpdkenv"
	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/spec"
)

// The README's Troubleshooting table lists every doctor check, in its group,
// and nothing that is not one.
func TestREADMETroubleshootingListsEveryCheck(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(fixture.ModuleRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "\n## Troubleshooting\n")
	if !ok {
		t.Fatal("README has no Troubleshooting section")
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	row := regexp.MustCompile("(?m)^\\| `([a-z0-9-]+)` \\| ([a-z]+) \\|")
	inREADME := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(sec, -1) {
		inREADME[m[1]] = m[2]
	}
	inCode := map[string]string{dpdkenv.IDProbe: "dpdk"}
	for _, c := range checks() {
		inCode[c.ID] = c.Group
	}
	var problems []string
	for id, g := range inCode {
		if rg, ok := inREADME[id]; !ok {
			problems = append(problems, "missing from the README: "+id)
		} else if rg != g {
			problems = append(problems, id+": README says group "+rg+", the code "+g)
		}
	}
	for id := range inREADME {
		if _, ok := inCode[id]; !ok {
			problems = append(problems, "in the README but no such check: "+id)
		}
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		t.Errorf("README Troubleshooting is out of date:\n%s", strings.Join(problems, "\n"))
	}
}

// The host spec the README shows is one photonctl takes.
func TestREADMEHostSpecParses(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(fixture.ModuleRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "```yaml\n")
	if !ok {
		t.Fatal("README shows no host spec")
	}
	y, _, _ := strings.Cut(rest, "```")
	s, err := spec.Parse(strings.NewReader(y))
	if err != nil {
		t.Fatalf("the README's host spec: %v", err)
	}
	if s.Hugepages != 5120 || s.VFs != 4 || s.FstackVersion != "1.24" {
		t.Errorf("parsed %+v", s)
	}
}

// examples/host.yaml, which make install ships, is the README's host spec
// with comments.
func TestExampleHostSpecIsTheREADMEs(t *testing.T) {
	root := fixture.ModuleRoot(t)
	ex, err := os.ReadFile(filepath.Join(root, "examples/host.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := spec.Parse(bytes.NewReader(ex)); err != nil {
		t.Fatalf("examples/host.yaml: %v", err)
	}
	var keys []string
	for _, l := range strings.Split(string(ex), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			keys = append(keys, l)
		}
	}
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(b), "```yaml\n")
	y, _, _ := strings.Cut(rest, "```")
	if got := strings.Join(keys, "\n") + "\n"; got != y {
		t.Errorf("examples/host.yaml without its comments:\n%s\nthe README's host spec:\n%s", got, y)
	}
}
