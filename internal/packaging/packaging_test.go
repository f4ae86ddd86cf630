package packaging

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// repo is the repository root (this package is internal/packaging).
var repo = func() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return filepath.Dir(filepath.Dir(wd))
}()

// need skips the test when tool is not on PATH, naming its Debian package.
func need(t *testing.T, tool, debPackage string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		t.Skipf("needs %s (apt-get install %s)", tool, debPackage)
	}
	return p
}

func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// build is one make package for all the tests, in a temporary folder.
type build struct {
	dir        string // BUILD_DIR
	dist       string // DIST
	bin        string // the static binary
	stage      string // make install DESTDIR=stage PREFIX=/usr
	version    string // build/version.sh version
	pkgversion string // build/version.sh pkgversion
}

var (
	buildOnce sync.Once
	built     *build
	buildErr  string
	tmpRoot   string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if tmpRoot != "" {
		os.RemoveAll(tmpRoot)
	}
	os.Exit(code)
}

// made runs make package once (BUILD_DIR and DIST in a temporary folder),
// or skips when a tool the build needs is missing.
func made(t *testing.T) *build {
	t.Helper()
	need(t, "make", "make")
	need(t, "git", "git")
	need(t, "musl-gcc", "musl-tools")
	buildOnce.Do(func() {
		var err error
		if tmpRoot, err = os.MkdirTemp("", "photonctl-packaging-"); err != nil {
			buildErr = err.Error()
			return
		}
		b := &build{dir: filepath.Join(tmpRoot, "build"), dist: filepath.Join(tmpRoot, "dist")}
		cmd := exec.Command("make", "--no-print-directory", "package", "BUILD_DIR="+b.dir, "DIST="+b.dist)
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Sprintf("make package: %v\n%s", err, out)
			return
		}
		b.bin = filepath.Join(b.dir, "photonctl")
		b.stage = filepath.Join(b.dir, "stage")
		for _, f := range []struct {
			field string
			to    *string
		}{{"version", &b.version}, {"pkgversion", &b.pkgversion}} {
			out, err := exec.Command(filepath.Join(repo, "build/version.sh"), f.field).Output()
			if err != nil {
				buildErr = fmt.Sprintf("build/version.sh %s: %v", f.field, err)
				return
			}
			*f.to = strings.TrimSpace(string(out))
		}
		built = b
	})
	if built == nil {
		t.Fatal(buildErr)
	}
	return built
}

// The binary has no interpreter (dynamic loader) and needs no shared
// library, and file(1) agrees.
func TestStaticBinary(t *testing.T) {
	b := made(t)
	f, err := elf.Open(b.bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 {
		t.Errorf("machine %v, want x86-64", f.Machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("program header %v: the binary is dynamically linked", p.Type)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("needs shared libraries %v", libs)
	}
	need(t, "file", "file")
	if out := run(t, "", nil, "file", "-b", b.bin); !strings.Contains(out, "statically linked") {
		t.Errorf("file says %q, not statically linked", out)
	}
}

// photonctl --version and version -o json carry the stamp make put in:
// the version and commit git gives, the build date, the dirty flag.
func TestVersionStamp(t *testing.T) {
	b := made(t)
	commit := strings.TrimSpace(run(t, repo, nil, "git", "rev-parse", "HEAD"))
	var v struct {
		Version, Commit, Date string
		Dirty                 *bool
		Engines               []string
	}
	if err := json.Unmarshal([]byte(run(t, "", nil, b.bin, "version", "-o", "json")), &v); err != nil {
		t.Fatal(err)
	}
	if v.Version != b.version || v.Commit != commit || v.Dirty == nil {
		t.Errorf("version -o json = %+v, want version %s, commit %s and a dirty flag", v, b.version, commit)
	}
	if !regexp.MustCompile(`^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$`).MatchString(v.Version) {
		t.Errorf("version %q is not a semantic version", v.Version)
	}
	if epoch := os.Getenv("SOURCE_DATE_EPOCH"); epoch != "" {
		if d, err := time.Parse(time.RFC3339, v.Date); err != nil || fmt.Sprint(d.Unix()) != epoch {
			t.Errorf("build date %q: %v (want SOURCE_DATE_EPOCH %s)", v.Date, err, epoch)
		}
	} else if d, err := time.Parse(time.RFC3339, v.Date); err != nil || time.Since(d) > 24*time.Hour {
		t.Errorf("build date %q: %v (want the time of this build)", v.Date, err)
	}
	if fmt.Sprint(v.Engines) != "[kernel]" {
		t.Errorf("engines %v, want [kernel]", v.Engines)
	}
	text := run(t, "", nil, b.bin, "--version")
	if !strings.HasPrefix(text, "photonctl "+b.version+"\n") || !strings.Contains(text, "commit   "+commit+" (") {
		t.Errorf("--version says:\n%s", text)
	}
	if same := run(t, "", nil, b.bin, "version"); same != text {
		t.Errorf("version says:\n%s\n--version says:\n%s", same, text)
	}
}

// In a chroot holding nothing but the binary (no libc, no loader, no /proc,
// no /etc), photonctl prints its version, and bench echo loads run echo on
// loopback and gets every byte back.
func TestRunsInAnEmptyChroot(t *testing.T) {
	b := made(t)
	if os.Getuid() != 0 {
		t.Skip("needs root: chroot")
	}
	root := t.TempDir()
	data, err := os.ReadFile(b.bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "photonctl"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	chrooted := func(args ...string) *exec.Cmd {
		c := exec.Command("/photonctl", args...)
		c.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
		c.Dir = "/"
		c.Env = []string{}
		return c
	}
	out, err := chrooted("--version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "photonctl "+b.version+"\n") {
		t.Fatalf("--version in the chroot: %v\n%s", err, out)
	}

	srv := chrooted("run", "echo", "--listen", "127.0.0.1:0", "--stats-interval", "0", "-o", "json")
	stdout, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var srvErr bytes.Buffer
	srv.Stderr = &srvErr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Process.Kill()
	lines := bufio.NewScanner(stdout)
	var start struct{ Type, Listen string }
	if !lines.Scan() || json.Unmarshal(lines.Bytes(), &start) != nil || start.Type != "start" {
		srv.Process.Kill()
		srv.Wait()
		t.Fatalf("run echo in the chroot did not start: %q\n%s", lines.Text(), srvErr.String())
	}

	out, err = chrooted("bench", "echo", "--addr", start.Listen, "--conns", "8", "--warmup", "200ms", "--duration", "1s", "-o", "json").Output()
	if err != nil {
		t.Fatalf("bench echo in the chroot: %v\n%s", err, out)
	}
	var res struct {
		Messages        uint64 `json:"messages"`
		Mismatched      uint64 `json:"mismatched_bytes"`
		Unanswered      uint64 `json:"unanswered_bytes"`
		ConnErrors      uint64 `json:"conn_errors"`
		ConnectedToo    uint64 `json:"connected"`
		DurationSeconds float64
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("bench echo -o json: %v\n%s", err, out)
	}
	if res.Messages == 0 || res.Mismatched != 0 || res.ConnErrors != 0 || res.ConnectedToo != 8 {
		t.Errorf("bench echo in the chroot: %+v (want messages, 8 connections, no mismatched byte, no error)", res)
	}

	if err := srv.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	var total struct {
		Type     string
		Accepted uint64
		Messages uint64
	}
	for lines.Scan() {
		if json.Unmarshal(lines.Bytes(), &total) == nil && total.Type == "total" {
			break
		}
	}
	if err := srv.Wait(); err != nil {
		t.Errorf("run echo in the chroot after SIGINT: %v\n%s", err, srvErr.String())
	}
	if total.Type != "total" || total.Accepted != 8 || total.Messages < res.Messages {
		t.Errorf("run echo's totals %+v after the bench's %d messages", total, res.Messages)
	}
}

// helpCommands lists the command paths photonctl's help shows (Available
// Commands, recursively), without help itself: the commands that have a man page.
func helpCommands(t *testing.T, bin string, path ...string) [][]string {
	out := run(t, "", nil, bin, append(append([]string{}, path...), "--help")...)
	all := [][]string{path}
	_, rest, ok := strings.Cut(out, "\nAvailable Commands:\n")
	if !ok {
		return all
	}
	for _, l := range strings.Split(rest, "\n") {
		f := strings.Fields(l)
		if len(f) == 0 {
			break
		}
		if f[0] == "help" {
			continue
		}
		all = append(all, helpCommands(t, bin, append(append([]string{}, path...), f[0])...)...)
	}
	return all
}

// make install DESTDIR=... PREFIX=... puts the binary, one man page per
// command, the completions, the docs and the example host spec in place.
func TestInstallTree(t *testing.T) {
	b := made(t)
	dest := t.TempDir()
	run(t, repo, nil, "make", "--no-print-directory", "install", "BUILD_DIR="+b.dir, "DESTDIR="+dest, "PREFIX=/opt/pctl")
	p := filepath.Join(dest, "opt/pctl")
	var got []string
	filepath.Walk(p, func(path string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			rel, _ := filepath.Rel(p, path)
			got = append(got, rel)
		}
		return err
	})
	var want []string
	for _, c := range helpCommands(t, b.bin) {
		want = append(want, "share/man/man1/"+strings.Join(append([]string{"photonctl"}, c...), "-")+".1.gz")
	}
	docs, _ := filepath.Glob(filepath.Join(repo, "docs/*.md"))
	for _, d := range docs {
		want = append(want, "share/doc/photonctl/docs/"+filepath.Base(d))
	}
	want = append(want, "bin/photonctl", "share/bash-completion/completions/photonctl",
		"share/zsh/site-functions/_photonctl", "share/fish/vendor_completions.d/photonctl.fish",
		"share/doc/photonctl/README.md", "share/doc/photonctl/examples/host.yaml")
	// The licenses: Go's, musl's and one folder per module linked in.
	var licenses []string
	for _, g := range got {
		if rest, ok := strings.CutPrefix(g, "share/doc/photonctl/licenses/"); ok {
			licenses = append(licenses, rest)
		}
	}
	got = slices.DeleteFunc(got, func(g string) bool { return strings.HasPrefix(g, "share/doc/photonctl/licenses/") })
	mods := strings.Fields(run(t, repo, nil, "go", "list", "-deps", "-f", "{{with .Module}}{{if not .Main}}{{.Path}}{{end}}{{end}}", "./cmd/photonctl"))
	for _, m := range append(mods, "go", "musl") {
		if !slices.ContainsFunc(licenses, func(l string) bool { return strings.HasPrefix(l, m+"/") }) {
			t.Errorf("no license text for %s under share/doc/photonctl/licenses", m)
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("make install PREFIX=/opt/pctl installed:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(want) < 20 {
		t.Errorf("only %d files expected; the help walk found too few commands", len(want))
	}
	if fi, err := os.Stat(filepath.Join(p, "bin/photonctl")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("bin/photonctl: %v %v", fi, err)
	}
}

// man photonctl-setup renders from the installed tree, with the flags.
func TestManRenders(t *testing.T) {
	b := made(t)
	need(t, "man", "man-db")
	need(t, "groff", "groff-base")
	cmd := exec.Command("man", "photonctl-setup")
	cmd.Env = append(os.Environ(), "MANPATH="+filepath.Join(b.stage, "usr/share/man"), "MANPAGER=cat", "PAGER=cat", "MANWIDTH=100", "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("man photonctl-setup: %v\n%s", err, out)
	}
	for _, w := range []string{"PHOTONCTL-SETUP(1)", "photonctl setup [flags]", "--hugepages", "--dry-run", "photonctl " + b.version} {
		if !strings.Contains(string(out), w) {
			t.Errorf("man photonctl-setup lacks %q:\n%s", w, out)
		}
	}
}

// The bash completion file loads in bash and completes commands and flags
// (it asks the installed photonctl, through its __complete command).
func TestBashCompletion(t *testing.T) {
	b := made(t)
	bash := need(t, "bash", "bash")
	// cobra's bash completion is written for bash-completion's helpers.
	const helpers = "/usr/share/bash-completion/bash_completion"
	if _, err := os.Stat(helpers); err != nil {
		t.Skipf("needs %s (apt-get install bash-completion)", helpers)
	}
	script := `set -e
source ` + helpers + `
source "$1"
complete -p photonctl
# compopt works only inside a completion bash itself started; here it need not.
compopt() { :; }
complete_line() {
  COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMPREPLY=()
  __start_photonctl photonctl "${@: -1}" "${@: -2:1}"
  echo "$*: ${COMPREPLY[*]}"
}
complete_line photonctl se
complete_line photonctl setup --hug
complete_line photonctl lab ""
`
	cmd := exec.Command(bash, "--norc", "--noprofile", "-c", script, "bash", filepath.Join(b.stage, "usr/share/bash-completion/completions/photonctl"))
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(b.bin)+":"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	for _, w := range []string{"complete -o default -F __start_photonctl photonctl", "photonctl se: setup", "photonctl setup --hug: --hugepage-size --hugepages", "photonctl lab : down status up"} {
		if !strings.Contains(string(out), w+"\n") {
			t.Errorf("bash completion output lacks %q:\n%s", w, out)
		}
	}
}

// The zsh and fish completion files are valid scripts of their shells.
func TestZshFishCompletionSyntax(t *testing.T) {
	b := made(t)
	for _, c := range []struct{ shell, file string }{
		{"zsh", "usr/share/zsh/site-functions/_photonctl"},
		{"fish", "usr/share/fish/vendor_completions.d/photonctl.fish"},
	} {
		t.Run(c.shell, func(t *testing.T) {
			sh := need(t, c.shell, c.shell)
			run(t, "", nil, sh, "-n", filepath.Join(b.stage, c.file))
		})
	}
}

// dist/ holds exactly one .deb and one .rpm, under the documented names.
func packages(t *testing.T, b *build) (deb, rpm string) {
	t.Helper()
	debs, _ := filepath.Glob(filepath.Join(b.dist, "photonctl_*_amd64.deb"))
	rpms, _ := filepath.Glob(filepath.Join(b.dist, "photonctl-*.x86_64.rpm"))
	wantDeb := filepath.Join(b.dist, "photonctl_"+b.pkgversion+"-1_amd64.deb")
	wantRPM := filepath.Join(b.dist, "photonctl-"+b.pkgversion+"-1.x86_64.rpm")
	if len(debs) != 1 || debs[0] != wantDeb || len(rpms) != 1 || rpms[0] != wantRPM {
		t.Fatalf("dist holds %v and %v, want %s and %s", debs, rpms, wantDeb, wantRPM)
	}
	return debs[0], rpms[0]
}

// installedFiles lists the files (not folders) under root, leaving out the
// package manager's own database.
func installedFiles(t *testing.T, root string, skip ...string) []string {
	var out []string
	filepath.Walk(root, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		for _, s := range skip {
			if rel == s {
				return filepath.SkipDir
			}
		}
		if !fi.IsDir() {
			out = append(out, "/"+rel)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

// debControl parses dpkg-deb -f output.
func debControl(s string) map[string]string {
	m := map[string]string{}
	var last string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, " ") {
			m[last] += "\n" + l
			continue
		}
		if k, v, ok := strings.Cut(l, ": "); ok {
			m[k], last = v, k
		}
	}
	return m
}

// The .deb: its control data (no dependencies, pciutils recommended, GRUB
// suggested), its file list, an install with dpkg --root into a scratch
// root where the binary runs, and a removal that leaves nothing behind.
func TestDeb(t *testing.T) {
	b := made(t)
	need(t, "dpkg-deb", "dpkg")
	need(t, "dpkg", "dpkg")
	deb, _ := packages(t, b)
	c := debControl(run(t, "", nil, "dpkg-deb", "-f", deb))
	for k, v := range map[string]string{"Package": "photonctl", "Version": b.pkgversion + "-1", "Architecture": "amd64",
		"Recommends": "pciutils", "Suggests": "grub2-common", "Section": "admin"} {
		if c[k] != v {
			t.Errorf("control %s: %q, want %q", k, c[k], v)
		}
	}
	for _, k := range []string{"Depends", "Pre-Depends"} {
		if c[k] != "" {
			t.Errorf("control %s: %q, want none (the binary is static)", k, c[k])
		}
	}
	if !strings.Contains(c["Description"], "DPDK") || c["Maintainer"] == "" {
		t.Errorf("control: description %q, maintainer %q", c["Description"], c["Maintainer"])
	}
	var listed []string
	for _, l := range strings.Split(run(t, "", nil, "dpkg-deb", "-c", deb), "\n") {
		if f := strings.Fields(l); len(f) == 6 && !strings.HasPrefix(f[0], "d") {
			listed = append(listed, strings.TrimPrefix(f[5], "."))
		}
	}
	// The .deb has what make install put, zsh's file where Debian's zsh
	// looks, and Debian's copyright file.
	stage := installedFiles(t, filepath.Join(b.stage))
	for i, f := range stage {
		stage[i] = strings.Replace(f, "/zsh/site-functions/", "/zsh/vendor-completions/", 1)
	}
	stage = append(stage, "/usr/share/doc/photonctl/copyright")
	sort.Strings(listed)
	sort.Strings(stage)
	if strings.Join(listed, "\n") != strings.Join(stage, "\n") {
		t.Errorf("the .deb holds:\n%s\nmake install put:\n%s", strings.Join(listed, "\n"), strings.Join(stage, "\n"))
	}

	root := t.TempDir()
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), nil, 0o644)
	run(t, "", nil, "dpkg", "--root="+root, "--force-not-root", "-i", deb)
	if st := run(t, "", nil, "dpkg", "--root="+root, "-s", "photonctl"); !strings.Contains(st, "Status: install ok installed") {
		t.Errorf("dpkg -s after the install:\n%s", st)
	}
	if got := installedFiles(t, root, "var"); strings.Join(got, "\n") != strings.Join(listed, "\n") {
		t.Errorf("installed:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(listed, "\n"))
	}
	if out := run(t, "", nil, filepath.Join(root, "usr/bin/photonctl"), "--version"); !strings.HasPrefix(out, "photonctl "+b.version+"\n") {
		t.Errorf("the installed photonctl says %q", out)
	}
	run(t, "", nil, "dpkg", "--root="+root, "--force-not-root", "-r", "photonctl")
	if left := installedFiles(t, root, "var"); len(left) > 0 {
		t.Errorf("dpkg -r left %v", left)
	}
	if ents, _ := os.ReadDir(filepath.Join(root, "usr")); len(ents) > 0 {
		t.Errorf("dpkg -r left folders under /usr: %v", ents)
	}
}

// rpmInstallFlags: Debian's rpm refuses to install without --force-debian.
func rpmInstallFlags(t *testing.T) []string {
	if strings.Contains(run(t, "", nil, "rpm", "--help"), "--force-debian") {
		return []string{"--force-debian"}
	}
	return nil
}

// The .rpm: its metadata (license, no requirement but rpm's own features,
// pciutils recommended, GRUB tools suggested) and file list with rpm, an
// install with rpm --root into a scratch root, rpm -V, and a clean erase.
func TestRPM(t *testing.T) {
	b := made(t)
	need(t, "rpm", "rpm")
	_, pkg := packages(t, b)
	info := run(t, "", nil, "rpm", "-qp", "--queryformat", "%{NAME}|%{VERSION}|%{RELEASE}|%{ARCH}|%{LICENSE}|%{OS}", pkg)
	if want := "photonctl|" + b.pkgversion + "|1|x86_64|Proprietary|linux"; info != want {
		t.Errorf("rpm -qp --queryformat: %q, want %q", info, want)
	}
	for _, r := range strings.Fields(run(t, "", nil, "rpm", "-qp", "--requires", pkg)) {
		if !strings.HasPrefix(r, "rpmlib(") && r != "<=" && !regexp.MustCompile(`^[0-9.-]+$`).MatchString(r) {
			t.Errorf("requires %q: the static binary should require nothing", r)
		}
	}
	if got := strings.Fields(run(t, "", nil, "rpm", "-qp", "--recommends", pkg)); fmt.Sprint(got) != "[pciutils]" {
		t.Errorf("recommends %v", got)
	}
	if got := strings.Fields(run(t, "", nil, "rpm", "-qp", "--suggests", pkg)); fmt.Sprint(got) != "[grub2-tools grubby]" {
		t.Errorf("suggests %v", got)
	}
	files := strings.Fields(run(t, "", nil, "rpm", "-qp", "--queryformat", "[%{FILENAMES} %{FILEMODES:perms}\n]", pkg))
	var listed []string
	for i := 0; i+1 < len(files); i += 2 {
		if !strings.HasPrefix(files[i+1], "d") {
			listed = append(listed, files[i])
		}
	}
	sort.Strings(listed)
	stage := installedFiles(t, b.stage)
	if strings.Join(listed, "\n") != strings.Join(stage, "\n") {
		t.Errorf("the .rpm holds:\n%s\nmake install put:\n%s", strings.Join(listed, "\n"), strings.Join(stage, "\n"))
	}

	root := t.TempDir()
	db := []string{"--root", root, "--dbpath", "/var/lib/rpm"}
	run(t, "", nil, "rpm", append(db, "--initdb")...)
	run(t, "", nil, "rpm", append(append(db, rpmInstallFlags(t)...), "-i", pkg)...)
	if q := run(t, "", nil, "rpm", append(db, "-q", "photonctl")...); q != "photonctl-"+b.pkgversion+"-1.x86_64\n" {
		t.Errorf("rpm -q: %q", q)
	}
	run(t, "", nil, "rpm", append(db, "-V", "photonctl")...)
	if got := installedFiles(t, root, "var"); strings.Join(got, "\n") != strings.Join(listed, "\n") {
		t.Errorf("installed:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(listed, "\n"))
	}
	if out := run(t, "", nil, filepath.Join(root, "usr/bin/photonctl"), "--version"); !strings.HasPrefix(out, "photonctl "+b.version+"\n") {
		t.Errorf("the installed photonctl says %q", out)
	}
	run(t, "", nil, "rpm", append(append(db, rpmInstallFlags(t)...), "-e", "photonctl")...)
	if left := installedFiles(t, root, "var"); len(left) > 0 {
		t.Errorf("rpm -e left %v", left)
	}
}
