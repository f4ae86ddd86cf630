package main

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/dpdkenv"
	"github.com/photonctl/photonctl/pkg/dpdkenv/dpdkenvtest"
)

func tree(t *testing.T, dir, version string, flowIsolate bool) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "lib"), 0o755); err != nil {
		t.Fatal(err)
	}
	if version != "" {
		if err := os.WriteFile(filepath.Join(dir, "VERSION"), []byte(version+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "lib", "libfstack.a"), dpdkenvtest.FakeLibfstack(flowIsolate), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestStamp(t *testing.T) {
	cases := []struct {
		name, version string
		isolate       bool
		want          []string
		warn          string
	}{
		{"f-stack", "1.24", false, []string{"dataplane.FstackVersion=1.24", "dataplane.FstackFlowIsolate=no"}, ""},
		{"isolated", "1.25", true, []string{"dataplane.FstackVersion=1.25", "dataplane.FstackFlowIsolate=yes"}, ""},
		{"no version", "", true, []string{"dataplane.FstackFlowIsolate=yes"}, "says no F-Stack release"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := tree(t, filepath.Join(t.TempDir(), c.name), c.version, c.isolate)
			var out, errb bytes.Buffer
			if code := run([]string{dir}, &out, &errb); code != 0 {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			got := out.String()
			want := append(c.want, "dataplane.FstackBuiltFrom="+dir)
			if strings.Contains(dir, " ") {
				want[len(want)-1] = "'github.com/photonctl/photonctl/pkg/dataplane.FstackBuiltFrom=" + dir + "'"
			}
			for _, w := range want {
				if !strings.Contains(got, w) {
					t.Errorf("stamp %q lacks %q", got, w)
				}
			}
			if c.version == "" && strings.Contains(got, "FstackVersion") {
				t.Errorf("a version stamped from a tree that has none: %q", got)
			}
			if !strings.Contains(errb.String(), c.warn) || (c.warn == "" && errb.Len() > 0) {
				t.Errorf("stderr %q, want %q", errb.String(), c.warn)
			}
		})
	}
}

func TestStampRefuses(t *testing.T) {
	var out, errb bytes.Buffer
	dir := t.TempDir()
	if code := run([]string{dir}, &out, &errb); code != 1 || out.Len() != 0 || !strings.Contains(errb.String(), "reading F-Stack's library "+dir+"/lib/libfstack.a (build F-Stack first") {
		t.Errorf("no library: exit %d, out %q, err %q", code, out.String(), errb.String())
	}
	errb.Reset()
	if code := run(nil, &out, &errb); code != 2 || !strings.Contains(errb.String(), "usage: fstackstamp FF_PATH") {
		t.Errorf("no argument: exit %d, %q", code, errb.String())
	}
	if _, err := quote(`/opt/it's "here"`); err == nil {
		t.Error("a path with both quotes was quoted")
	}
	if q, _ := quote(`/opt/it's`); q != `"/opt/it's"` {
		t.Errorf("quote = %s", q)
	}
}

// The -X targets exist: package-level string variables of pkg/dataplane
// (the linker ignores -X of a name that is not there, silently).
func TestStampTargetsExist(t *testing.T) {
	fset := token.NewFileSet()
	found := map[string]bool{}
	names, err := filepath.Glob("../../pkg/dataplane/*.go")
	if err != nil || len(names) == 0 {
		t.Fatalf("pkg/dataplane's sources: %v", err)
	}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						if _, err := strconv.Unquote(lit.Value); err == nil {
							found[n.Name] = true
						}
					}
				}
			}
		}
	}
	out, err := ldflags(stampFixture)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range strings.Fields(out) {
		if f == "-X" {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(f, dataplane+"."), "=")
		if !found[name] {
			t.Errorf("-X %s: pkg/dataplane has no string variable %s", f, name)
		}
	}
}

var stampFixture = dpdkenv.Stamp{Version: "1.24", BuiltFrom: "/opt/src/f-stack", FlowIsolate: true}
