package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/netnstest"
	"github.com/photonctl/photonctl/pkg/runner"
)

// The crash test: a full setup on fixture hosts, killed (SIGKILL, from
// inside, right before the change) at each change it makes in turn: every
// file write, rename, folder, removal and sysfs write through pkg/host, and
// every command it runs. After each kill it checks that no file is torn
// (each holds its content from before or after the setup), that every
// backup folder has its manifest, then that the next run removes every
// temporary file, finishes the owed work (the final host equals that of an
// uninterrupted run, the initramfs rebuilt from the rules) and exits as an
// uninterrupted run does (3: reboot), and that rolling back every change set
// brings back the host byte for byte: content, symlinks, modes and owners.
//
// `make crashtest` runs every kill point; `go test ./...` runs one in five
// and every kill right before a command.
// Each run of setup is a child process (this test binary) in its own
// network namespace holding links with the fixture's MACs.

// crashHost is one fixture host setup runs on.
type crashHost struct {
	name     string
	fixtures []string
	args     []string
	// prepare changes the unpacked fixture: owners, modes, symlinked
	// config files.
	prepare func(t *testing.T, root string)
	// links are the fixture's NICs in the run's network namespace; the
	// first has the address and the default route.
	links []crashLink
	// exit is what an uninterrupted setup exits with.
	exit int
}

type crashLink struct{ name, mac, cidr, gw string }

var crashHosts = []crashHost{
	{
		name:     "centos7",
		exit:     ExitReboot,
		fixtures: []string{"base-centos7-2node", "grub-centos7", "names-centos7-cx4", "hp-mounted"},
		args:     []string{"setup", "--yes", "--hugepages", "64", "--names", "keep", "--fstack", "--fstack-version", "1.25"},
		links:    []crashLink{{"eth0", "00:02:c9:fa:c3:50", "192.0.2.2/24", "192.0.2.1"}, {"eth1", "00:02:c9:fa:c3:51", "", ""}},
		prepare: func(t *testing.T, root string) {
			// An owner and mode setup must keep and rollback restore.
			must(t, os.Chown(filepath.Join(root, "etc/default/grub"), 1234, 5678))
			must(t, os.Chmod(filepath.Join(root, "etc/default/grub"), 0o640))
			// f-stack.conf a dangling absolute link into /opt: written
			// through, the link stays.
			must(t, os.MkdirAll(filepath.Join(root, "opt/f-stack"), 0o755))
			must(t, os.Symlink("/opt/f-stack/f-stack.conf", filepath.Join(root, "etc/f-stack.conf")))
		},
	},
	{
		name:     "ubuntu2204",
		exit:     ExitReboot,
		fixtures: []string{"base-centos7-2node", "names-debian", "grub-ubuntu2204", "hp-mounted"},
		args:     []string{"setup", "--yes", "--hugepages", "64", "--names", "keep", "--fstack", "--fstack-version", "1.25"},
		links:    []crashLink{{"eth0", "00:10:18:00:00:01", "192.0.2.2/24", "192.0.2.1"}, {"eth1", "00:10:18:00:00:02", "", ""}, {"eth2", "00:10:18:00:00:03", "", ""}},
		prepare: func(t *testing.T, root string) {
			// /etc/default/grub an absolute link to the real file.
			must(t, os.MkdirAll(filepath.Join(root, "srv/config"), 0o755))
			must(t, os.Rename(filepath.Join(root, "etc/default/grub"), filepath.Join(root, "srv/config/grub")))
			must(t, os.Symlink("/srv/config/grub", filepath.Join(root, "etc/default/grub")))
			must(t, os.Chown(filepath.Join(root, "srv/config/grub"), 0, 4))
		},
	},
	{
		// A host whose kernel arguments already hold: no reboot, exit 0;
		// the VF boot unit installed and enabled (systemctl enable's
		// .wants link, which rollback must take away).
		name:     "x710-vfs",
		fixtures: []string{"base-centos7-2node", "sriov-x710-vfs", "hp-mounted"},
		args:     []string{"setup", "--yes", "--hugepages", "64", "--vfs", "4", "--pf", "ens1f0"},
		links:    []crashLink{{"eno1", "3c:ec:ef:10:22:01", "192.168.2.10/24", "192.168.2.1"}, {"ens1f0", "3c:fd:fe:b8:91:a0", "", ""}},
		prepare:  func(t *testing.T, root string) {},
		exit:     0,
	},
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// crashResult is what a child run reports.
type crashResult struct {
	Code int      `json:"code"`
	Out  string   `json:"out"`
	Ops  []string `json:"ops"`
}

func TestCrashAtEveryWrite(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root: each setup runs in its own network namespace, with links that carry the fixture's MACs")
	}
	every := 5
	if os.Getenv("PHOTONCTL_CRASHTEST") == "all" {
		every = 1
	}
	for _, ch := range crashHosts {
		t.Run(ch.name, func(t *testing.T) { crashHostTest(t, ch, every) })
	}
}

func crashHostTest(t *testing.T, ch crashHost, every int) {
	fresh := func() string {
		h := fixture.Host(t, ch.fixtures...)
		ch.prepare(t, h.Root())
		return h.Root()
	}
	// The uninterrupted run: what the host looks like after it, its exit
	// code, and the changes it makes (the kill points).
	root := fresh()
	before := treeOf(t, root)
	clean := crashChild(t, ch, root, 0)
	if clean.Code != ch.exit {
		t.Fatalf("the uninterrupted setup exits %d, want %d\n%s", clean.Code, ch.exit, clean.Out)
	}
	after := treeOf(t, root)
	if len(clean.Ops) < 20 {
		t.Fatalf("only %d kill points: %q", len(clean.Ops), clean.Ops)
	}
	rollbackAll(t, root)
	checkRestored(t, "uninterrupted", root, before, after)

	var covered, torn, orphan, wrongExit, left, notRestored int
	for k := 1; k <= len(clean.Ops); k++ {
		// Sampled, every kill before a command stays: those are the
		// points where owed work is lost.
		if (k-1)%every != 0 && k != len(clean.Ops) && !strings.HasPrefix(clean.Ops[k-1], "run ") {
			continue
		}
		covered++
		at := fmt.Sprintf("kill %d/%d at %s", k, len(clean.Ops), clean.Ops[k-1])
		root := fresh()
		res := crashChild(t, ch, root, k)
		if res.Code != -int(syscall.SIGKILL) {
			t.Fatalf("%s: the run was not killed (exit %d)\n%s", at, res.Code, res.Out)
		}
		now := treeOf(t, root)
		for p, e := range now {
			if e.state || e.kind != "file" || host.IsTempName(filepath.Base(p)) {
				continue // a temporary file is debris, checked after the next run
			}
			if b, ok := before[p]; ok && b.sum == e.sum {
				continue
			}
			if a, ok := after[p]; ok && a.sum == e.sum {
				continue
			}
			torn++
			t.Errorf("%s: %s is torn: neither its content before nor after setup", at, p)
		}
		orphan += orphanBackups(t, at, root, true)
		if code := photonctlIn(t, root, "rollback", "--list"); code != 0 {
			t.Errorf("%s: rollback --list exits %d", at, code)
		}

		st, err := engine.LoadState(mustHost(t, root))
		if err != nil {
			t.Errorf("%s: %v", at, err)
		}
		next := crashChild(t, ch, root, 0)
		for _, u := range st.Unfinished {
			if !regexp.MustCompile(`Finished step .*\b` + u.Step + `\b`).MatchString(next.Out) {
				t.Errorf("%s: the next run does not say it finished %s:\n%s", at, u.Step, next.Out)
			}
		}
		if next.Code != clean.Code {
			wrongExit++
			t.Errorf("%s: the next run exits %d, want %d\n%s", at, next.Code, clean.Code, next.Out)
		}
		orphan += orphanBackups(t, at+", then the next run", root, false)
		if n := tempFiles(t, root); n > 0 {
			left += n
			t.Errorf("%s: %d temporary file(s) left after the next run", at, n)
		}
		if d := diffTrees(after, treeOf(t, root)); d != "" {
			t.Errorf("%s: after the next run the host differs from an uninterrupted run's:\n%s", at, d)
		}
		rollbackAll(t, root)
		if !checkRestored(t, at, root, before, after) {
			notRestored++
		}
	}
	t.Logf("%s: %d kill points of %d covered (every %d); torn files %d, backups without manifest %d, wrong exit codes %d, temporary files left %d, rollbacks not byte-exact %d",
		ch.name, covered, len(clean.Ops), every, torn, orphan, wrongExit, left, notRestored)
}

func mustHost(t *testing.T, root string) *host.Host {
	h, err := host.New(root)
	must(t, err)
	return h
}

// Rollback takes setup's lock: beside a running setup it changes nothing and
// names the setup.
func TestRollbackWaitsForSetup(t *testing.T) {
	h := fixture.Host(t, "base-centos7-2node", "hp-mounted")
	if r := photonctl(t, "--root", h.Root(), "setup", "--hugepages", "4", "--yes"); r.code != 0 {
		t.Fatalf("setup: %d %s", r.code, r.err)
	}
	ms, err := h.Backups()
	if err != nil || len(ms) != 1 {
		t.Fatalf("backups %v %v", ms, err)
	}
	l, err := engine.Acquire(h, "photonctl setup --hugepages 8 --yes")
	must(t, err)
	defer l.Release()
	before := treeOf(t, h.Root())
	r := photonctl(t, "--root", h.Root(), "rollback", "--id", ms[0].ID)
	if r.code != ExitFailure || !strings.Contains(r.err, "photonctl setup --hugepages 8 --yes") || !strings.Contains(r.err, fmt.Sprintf("pid %d", os.Getpid())) {
		t.Errorf("rollback beside a setup: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if d := diffTrees(before, treeOf(t, h.Root())); d != "" {
		t.Errorf("the refused rollback changed the host:\n%s", d)
	}
}

// rollbackAll rolls back every change set, newest first.
func rollbackAll(t *testing.T, root string) {
	t.Helper()
	h, err := host.New(root)
	must(t, err)
	ms, err := h.Backups()
	if err != nil {
		t.Fatalf("listing the backups: %v", err)
	}
	done := map[string]bool{}
	for i := len(ms) - 1; i >= 0; i-- {
		if done[ms[i].ID] || strings.HasPrefix(ms[i].Reason, "rollback of ") {
			continue
		}
		if code := photonctlIn(t, root, "rollback", "--id", ms[i].ID); code != 0 {
			t.Errorf("rollback --id %s exits %d", ms[i].ID, code)
		}
		done[ms[i].ID] = true
	}
}

// checkRestored compares the host after rollback with the host before setup.
// The initramfs is regenerated, not restored: it must carry the restored
// rules.
func checkRestored(t *testing.T, at, root string, before, after tree) bool {
	t.Helper()
	now := treeOf(t, root)
	ok := true
	if _, rebuilt := after[initramfs]; rebuilt {
		b, err := os.ReadFile(filepath.Join(root, initramfs))
		if err != nil || !bytes.Equal(b, initramfsFor(root)) {
			t.Errorf("%s: after rollback the initramfs does not carry the restored udev rules (%v)", at, err)
			ok = false
		}
		delete(now, initramfs)
	}
	if d := diffTrees(before, now); d != "" {
		t.Errorf("%s: rollback does not restore the host:\n%s", at, d)
		ok = false
	}
	if n := tempFiles(t, root); n > 0 {
		t.Errorf("%s: %d temporary file(s) left after rollback", at, n)
		ok = false
	}
	return ok
}

// orphanBackups counts backup folders without a manifest; right after a
// kill, one that holds nothing but a temporary file is no orphan (the
// manifest's own rename was cut short: the next run removes it).
func orphanBackups(t *testing.T, at, root string, justKilled bool) int {
	t.Helper()
	dir := filepath.Join(root, host.BackupsDir)
	ents, _ := os.ReadDir(dir)
	n := 0
	for _, e := range ents {
		if _, err := os.Stat(filepath.Join(dir, e.Name(), "manifest.json")); err == nil {
			continue
		}
		inner, _ := os.ReadDir(filepath.Join(dir, e.Name()))
		onlyTemp := true
		for _, i := range inner {
			onlyTemp = onlyTemp && host.IsTempName(i.Name())
		}
		if justKilled && onlyTemp {
			continue
		}
		n++
		t.Errorf("%s: backup %s has no manifest", at, e.Name())
	}
	return n
}

func tempFiles(t *testing.T, root string) int {
	n := 0
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && host.IsTempName(d.Name()) {
			n++
		}
		return nil
	})
	return n
}

// photonctlIn runs photonctl in this process against root with the player.
func photonctlIn(t *testing.T, root string, args ...string) int {
	t.Helper()
	var out, errb bytes.Buffer
	g := &globalOptions{In: strings.NewReader(""), Out: &out, Err: &errb,
		newRunner: func(string) runner.Runner { return player{root: root} }, isTerminal: func() bool { return false }}
	code := run(g, append([]string{"--root", root}, args...))
	if code != 0 {
		t.Logf("photonctl %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
	}
	return code
}

// crashChild runs setup on root in a child process in a fresh network
// namespace; killAt > 0 kills it right before its killAt-th change.
func crashChild(t *testing.T, ch crashHost, root string, killAt int) crashResult {
	t.Helper()
	out := filepath.Join(t.TempDir(), "result.json")
	args, _ := json.Marshal(append([]string{"--root", root}, ch.args...))
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
	cmd.Env = append(os.Environ(), "PHOTONCTL_CRASH_CHILD=1", "CRASH_ARGS="+string(args), "CRASH_RESULT="+out,
		"CRASH_KILL_AT="+strconv.Itoa(killAt), "CRASH_ROOT="+root, "CRASH_HOST="+ch.name)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	log, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return crashResult{Code: -int(ws.Signal()), Out: string(log)}
		}
	}
	if err != nil {
		t.Fatalf("crash child: %v\n%s", err, log)
	}
	var r crashResult
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("crash child wrote no result: %v\n%s", err, log)
	}
	must(t, json.Unmarshal(b, &r))
	return r
}

// TestCrashChild is one setup run of TestCrashAtEveryWrite, in a child.
func TestCrashChild(t *testing.T) {
	if os.Getenv("PHOTONCTL_CRASH_CHILD") != "1" {
		t.Skip("runs only as a child of TestCrashAtEveryWrite, in its own network namespace")
	}
	root := os.Getenv("CRASH_ROOT")
	killAt, _ := strconv.Atoi(os.Getenv("CRASH_KILL_AT"))
	var args []string
	must(t, json.Unmarshal([]byte(os.Getenv("CRASH_ARGS")), &args))

	// The fixture's NICs as links of this namespace, the first with the
	// address and default route f-stack.conf is written for.
	nl, err := netlink.NewHandle()
	must(t, err)
	var links []crashLink
	for _, ch := range crashHosts {
		if ch.name == os.Getenv("CRASH_HOST") {
			links = ch.links
		}
	}
	for _, cl := range links {
		var cidrs []string
		if cl.cidr != "" {
			cidrs = append(cidrs, cl.cidr)
		}
		l := netnstest.AddLink(t, nl, cl.name, cl.mac, cidrs...)
		if cl.gw != "" {
			netnstest.DefaultVia(t, nl, l, cl.gw)
		}
	}

	var ops []string
	point := func(op string) {
		ops = append(ops, op)
		if len(ops) == killAt {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
	}
	var out bytes.Buffer
	g := &globalOptions{In: strings.NewReader(""), Out: &out, Err: &out,
		newRunner: func(string) runner.Runner {
			return player{root: root, before: func(argv []string) { point("run " + strings.Join(argv, " ")) }}
		},
		isTerminal: func() bool { return false },
		hostHook: func(op, p string) error {
			point(op + " " + p)
			return nil
		},
	}
	code := run(g, args)
	b, _ := json.Marshal(crashResult{Code: code, Out: out.String(), Ops: ops})
	must(t, os.WriteFile(os.Getenv("CRASH_RESULT"), b, 0o644))
}

// tree is a host tree for comparison: content, kind, mode, owner, link.
type tree map[string]treeEntry

type treeEntry struct {
	kind, link string
	mode       fs.FileMode
	uid, gid   uint32
	sum        [32]byte
	state      bool // photonctl's own state, not compared
}

func (e treeEntry) String() string {
	s := fmt.Sprintf("%s %v %d:%d", e.kind, e.mode, e.uid, e.gid)
	if e.kind == "link" {
		s += " -> " + e.link
	}
	if e.kind == "file" {
		s += fmt.Sprintf(" %x", e.sum[:6])
	}
	return s
}

func treeOf(t *testing.T, root string) tree {
	t.Helper()
	out := tree{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := "/" + strings.TrimPrefix(strings.TrimPrefix(p, root), "/")
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		e := treeEntry{mode: fi.Mode(), uid: st.Uid, gid: st.Gid,
			state: rel == host.StateDir || strings.HasPrefix(rel, host.StateDir+"/") || strings.HasPrefix(host.StateDir, rel+"/")}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			e.kind = "link"
			e.link, _ = os.Readlink(p)
		case fi.IsDir():
			e.kind = "dir"
		default:
			e.kind = "file"
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if strings.HasPrefix(rel, "/sys/") || strings.HasPrefix(rel, "/proc/") {
				// A sysfs attribute is a value: "0\n" and "0" are the same.
				b = bytes.TrimSpace(b)
			}
			e.sum = sha256.Sum256(b)
		}
		out[rel] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// diffTrees lists what differs outside photonctl's own state.
func diffTrees(a, b tree) string {
	var out []string
	for p, x := range a {
		if x.state {
			continue
		}
		if y, ok := b[p]; !ok {
			out = append(out, "- "+p+" "+x.String())
		} else if x != y {
			out = append(out, fmt.Sprintf("~ %s %s, now %s", p, x, y))
		}
	}
	for p, y := range b {
		if _, ok := a[p]; !ok && !y.state {
			out = append(out, "+ "+p+" "+y.String())
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}
