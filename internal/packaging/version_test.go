package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// build/version.sh in a throwaway git repository: before any tag, on a
// tag, after it, on a pre-release tag, with uncommitted changes, and with a
// version given by make VERSION=....
func TestVersionScript(t *testing.T) {
	need(t, "git", "git")
	script := filepath.Join(repo, "build/version.sh")
	dir := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		run(t, dir, []string{"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com"}, "git", args...)
	}
	field := func(env []string, f string) string {
		t.Helper()
		return strings.TrimSpace(run(t, dir, env, script, f))
	}
	commitFile := func(content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "f"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		git("add", "f")
		git("commit", "-q", "-m", content)
	}

	if v := field(nil, "version"); v != "v0.0.0-unknown" {
		t.Errorf("outside git: version %q", v)
	}
	git("init", "-q")
	commitFile("1")
	commitFile("2")
	short := strings.TrimSpace(run(t, dir, nil, "git", "rev-parse", "--short=12", "HEAD"))
	full := strings.TrimSpace(run(t, dir, nil, "git", "rev-parse", "HEAD"))
	for _, c := range []struct {
		name, tag, field, want string
		env                    []string
	}{
		{"no tag yet", "", "version", "v0.0.0-2-g" + short, nil},
		{"no tag yet", "", "pkgversion", "0.0.0+2.g" + short, nil},
		{"no tag yet", "", "commit", full, nil},
		{"no tag yet", "", "dirty", "false", nil},
		{"on a tag", "v1.2.3", "version", "v1.2.3", nil},
		{"on a tag", "", "pkgversion", "1.2.3", nil},
		{"a make VERSION=", "", "pkgversion", "2.0.0~rc1", []string{"STAMP_VERSION=v2.0.0-rc1"}},
		{"a pre-release after commits", "", "pkgversion", "2.0.0~rc1+3.gabc", []string{"STAMP_VERSION=v2.0.0-rc1-3-gabc"}},
		{"a given dirty flag", "", "pkgversion", "1.2.3+dirty", []string{"STAMP_DIRTY=true"}},
		{"a fixed date", "", "date", "1970-01-02T00:00:00Z", []string{"SOURCE_DATE_EPOCH=86400"}},
	} {
		if c.tag != "" {
			git("tag", c.tag)
		}
		if got := field(c.env, c.field); got != c.want {
			t.Errorf("%s: %s %q, want %q", c.name, c.field, got, c.want)
		}
	}
	commitFile("3")
	short = strings.TrimSpace(run(t, dir, nil, "git", "rev-parse", "--short=12", "HEAD"))
	if v := field(nil, "version"); v != "v1.2.3-1-g"+short {
		t.Errorf("a commit after v1.2.3: version %q", v)
	}
	os.WriteFile(filepath.Join(dir, "f"), []byte("changed"), 0o644)
	if d, p := field(nil, "dirty"), field(nil, "pkgversion"); d != "true" || p != "1.2.3+1.g"+short+".dirty" {
		t.Errorf("uncommitted changes: dirty %q, pkgversion %q", d, p)
	}
	os.WriteFile(filepath.Join(dir, "f"), []byte("3"), 0o644)
	os.WriteFile(filepath.Join(dir, "untracked"), []byte("x"), 0o644)
	if d := field(nil, "dirty"); d != "false" {
		t.Errorf("only an untracked file: dirty %q", d)
	}
	if d := field(nil, "date"); !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`).MatchString(d) {
		t.Errorf("date %q", d)
	}
	if out, err := exec.Command(script, "nonsense").CombinedOutput(); err == nil || !strings.Contains(string(out), "unknown field nonsense") {
		t.Errorf("an unknown field: %v %s", err, out)
	}
}

// dpkg and rpm sort the package versions the way the releases go: a
// pre-release before its release, a release before the commits after it.
func TestPackageVersionsSort(t *testing.T) {
	dpkg := need(t, "dpkg", "dpkg")
	order := []string{"0.0.0+5.gabc", "0.0.0+12.gabc", "1.0.0~rc1", "1.0.0~rc1+2.gabc", "1.0.0", "1.0.0+1.gabc", "1.0.0+1.gabc.dirty", "1.0.1"}
	for i := 0; i+1 < len(order); i++ {
		if err := exec.Command(dpkg, "--compare-versions", order[i], "lt", order[i+1]).Run(); err != nil {
			t.Errorf("dpkg: %s is not before %s", order[i], order[i+1])
		}
	}
	if _, err := exec.LookPath("rpm"); err != nil {
		t.Skip("needs rpm for rpm's order (apt-get install rpm)")
	}
	for i := 0; i+1 < len(order); i++ {
		out, err := exec.Command("rpm", "--eval", "%{lua: print(rpm.vercmp('"+order[i]+"', '"+order[i+1]+"'))}").Output()
		if err != nil || strings.TrimSpace(string(out)) != "-1" {
			t.Errorf("rpm: %s is not before %s (%s %v)", order[i], order[i+1], out, err)
		}
	}
}

// make finds Go in /usr/local/go/bin when go is not on PATH, and what it
// runs finds it there too.
func TestMakeFindsGoWithoutPath(t *testing.T) {
	const goBin = "/usr/local/go/bin/go"
	if _, err := os.Stat(goBin); err != nil {
		t.Skipf("needs Go at %s, where the README installs it", goBin)
	}
	mk := need(t, "make", "make")
	cmd := exec.Command(mk, "-n", "--no-print-directory", "build", "static")
	cmd.Dir = repo
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + os.Getenv("HOME")}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n build static without go on PATH: %v\n%s", err, out)
	}
	if strings.Count(string(out), goBin+" build ") != 2 {
		t.Errorf("make -n build static without go on PATH:\n%s\nwant two %s build lines", out, goBin)
	}
	cmd = exec.Command(mk, "-s", "--no-print-directory", "-f", "-", "-f", "Makefile", "which-go")
	cmd.Dir = repo
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + os.Getenv("HOME")}
	cmd.Stdin = strings.NewReader("which-go:\n\t@command -v go\n")
	out, err = cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != goBin {
		t.Errorf("go on the PATH of make's recipes: %q %v, want %s", out, err, goBin)
	}
	// make GO=go (a name, not a path) leaves PATH alone: no "." put in it.
	cmd = exec.Command(mk, "-s", "--no-print-directory", "-f", "-", "-f", "Makefile", "GO=go", "path")
	cmd.Dir = repo
	cmd.Env = []string{"PATH=/usr/local/go/bin:/usr/bin:/bin", "HOME=" + os.Getenv("HOME")}
	cmd.Stdin = strings.NewReader("path:\n\t@echo \"$$PATH\"\n")
	out, err = cmd.CombinedOutput()
	if got := strings.TrimSpace(string(out)); err != nil || got != "/usr/local/go/bin:/usr/bin:/bin" {
		t.Errorf("make GO=go: recipes' PATH %q %v, want it unchanged", got, err)
	}
}
