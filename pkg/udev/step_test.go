package udev

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/golden"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/runner"
	"github.com/photonctl/photonctl/pkg/runner/runnertest"
	"github.com/photonctl/photonctl/pkg/spec"
)

// testHost is a fixture host with its links in a throwaway namespace, eth0
// holding 10.99.0.2/24 and the default route via 10.99.0.1.
func testHost(t *testing.T, name string) (*host.Host, *netlink.Handle, map[string]netlink.Link) {
	t.Helper()
	nl := testNS(t)
	h := fixture.Host(t, name)
	links := linksFromFixture(t, nl, h)
	addAddr(t, nl, links["eth0"], "10.99.0.2/24")
	defaultVia(t, nl, links["eth0"], "10.99.0.1")
	return h, nl, links
}

func newEnv(h *host.Host, nl *netlink.Handle, r runner.Runner, names string) *engine.Env {
	sp := spec.Default()
	sp.Names = names
	return &engine.Env{Host: h, Run: r, Spec: sp, NL: nl}
}

func noSSH(string) string { return "" }

func runSetup(t *testing.T, env *engine.Env, s *Step) *engine.Report {
	t.Helper()
	rep, err := engine.Run(context.Background(), env, []engine.Step{s}, []engine.Step{s}, engine.Options{Who: "test"})
	if err != nil {
		t.Fatalf("setup: %v", err)
	}
	return rep
}

func TestKeepCentOS7(t *testing.T) {
	h, nl, _ := testHost(t, "names-centos7-cx4")
	s := &Step{Getenv: noSSH}
	fake := runnertest.New(t).Tools("udevadm").
		Expect(runnertest.Call{Argv: []string{"dracut", "-f"}}).
		Expect(runnertest.Call{Argv: []string{"udevadm", "control", "--reload-rules"}})
	env := newEnv(h, nl, fake, "keep")
	rep := runSetup(t, env, s)
	st := rep.Steps[0]
	if st.Status != engine.StatusReboot {
		t.Fatalf("status %s (%s), want reboot-required", st.Status, st.Message)
	}
	if got := env.KernelArgs["names"]; len(got) != 1 || got[0] != "net.ifnames=0" {
		t.Errorf("kernel args = %v, want [net.ifnames=0]", got)
	}
	var plan []string
	for _, c := range st.Changes {
		plan = append(plan, c.String()+" | "+c.After)
	}
	want := []string{"run: dracut -f | ", "run: udevadm control --reload-rules | "}
	for _, w := range want {
		if !contains(plan, w) {
			t.Errorf("plan %q lacks %q", plan, w)
		}
	}
	if !strings.Contains(st.Message, `"File exists"`) {
		t.Errorf("message %q does not warn about the ethN rename race", st.Message)
	}
	b, err := h.ReadFile(RulesPath)
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "testdata/centos7-cx4.rules.golden", b)
	var rules int
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "SUBSYSTEM==") {
			rules++
		}
	}
	if rules != 2 {
		t.Errorf("%d rule lines, want one per NIC (2)", rules)
	}

	// Second run: nothing to do, no command runs (the fake is strict).
	env2 := newEnv(h, nl, runnertest.New(t).Tools("udevadm", "dracut"), "keep")
	rep2 := runSetup(t, env2, s)
	if st := rep2.Steps[0]; st.Status != engine.StatusOK || len(st.Changes) != 0 {
		t.Errorf("second run: %s %v (%s), want ok and no changes", st.Status, st.Changes, st.Message)
	}
	if rep2.BackupID != "" {
		t.Errorf("second run made backup %s", rep2.BackupID)
	}
}

// Not asked for (no --names), the step writes nothing, not even on this
// host whose kernel names (eth0) keep mode would pin with the racy
// KERNEL=="eth*", NAME:="eth0" rule; the plan says what would happen after a
// reboot and how to ask.
func TestNotAskedWritesNoRule(t *testing.T) {
	h, nl, _ := testHost(t, "names-centos7-cx4")
	env := newEnv(h, nl, runnertest.New(t), "")
	s := &Step{Getenv: noSSH}
	if args, err := s.KernelArgs(context.Background(), env); err != nil || len(args) != 0 {
		t.Errorf("kernel arguments %q, %v; want none when not asked", args, err)
	}
	rep := runSetup(t, env, s)
	st := rep.Steps[0]
	if st.Status != engine.StatusSkipped || !strings.Contains(st.Hint, "eth0 would become enp3s0f0") || !strings.Contains(st.Hint, "--names keep") {
		t.Errorf("report %+v: want skipped with a hint naming the rename and --names keep", st)
	}
	if h.Exists(RulesPath) {
		t.Errorf("%s written without --names", RulesPath)
	}
}

// --only names without --names picks the mode: keep where names would change.
func TestDefaultModeKeepsWhereNamesWouldChange(t *testing.T) {
	h, nl, _ := testHost(t, "names-centos7-cx4")
	env := newEnv(h, nl, runnertest.New(t).Tools("udevadm", "dracut"), "")
	env.Only = []string{engine.StepNames}
	p, err := (&Step{Getenv: noSSH}).Check(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.Message, "eth0 would become enp3s0f0") || len(p.Changes) == 0 {
		t.Errorf("plan %q %v: want keep because eth0 would become enp3s0f0", p.Message, p.Changes)
	}
	if h.Exists(RulesPath) {
		t.Error("Check wrote the rules file")
	}
}

// configDump is every network configuration file of h, for golden files.
func configDump(t *testing.T, h *host.Host) string {
	var paths []string
	for _, g := range []string{"/etc/sysconfig/network-scripts/*", "/etc/NetworkManager/system-connections/*", "/etc/netplan/*", "/etc/network/interfaces", "/etc/network/interfaces.d/*"} {
		m, _ := h.Glob(g)
		paths = append(paths, m...)
	}
	sort.Strings(paths)
	var b strings.Builder
	for _, p := range paths {
		data, err := h.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "==== %s\n%s", p, data)
	}
	return b.String()
}

func TestScriptsRewrites(t *testing.T) {
	for _, fx := range []string{"names-centos7-cx4", "names-nm", "names-netplan", "names-debian"} {
		t.Run(fx, func(t *testing.T) {
			h, nl, _ := testHost(t, fx)
			s := &Step{Getenv: noSSH}
			env := newEnv(h, nl, runnertest.New(t), "scripts")
			rep := runSetup(t, env, s)
			st := rep.Steps[0]
			if st.Status != engine.StatusReboot {
				t.Fatalf("status %s (%s), want reboot-required", st.Status, st.Message)
			}
			if len(env.KernelArgs) != 0 {
				t.Errorf("scripts mode asked for kernel args %v", env.KernelArgs)
			}
			var b strings.Builder
			// The links left alone depend on the kernel (veth peers stand
			// in for dummy links where there is no dummy driver).
			msg, _, _ := strings.Cut(st.Message, "; left alone:")
			fmt.Fprintf(&b, "message: %s\n", msg)
			for _, c := range st.Changes {
				fmt.Fprintf(&b, "change %s\n  - %s\n  + %s\n", c, c.Before, c.After)
			}
			b.WriteString(configDump(t, h))
			golden.Assert(t, "testdata/scripts-"+strings.TrimPrefix(fx, "names-")+".golden", []byte(b.String()))

			// Second run: the configuration already names the new names.
			rep2 := runSetup(t, newEnv(h, nl, runnertest.New(t), "scripts"), s)
			if st := rep2.Steps[0]; st.Status != engine.StatusOK || len(st.Changes) != 0 {
				t.Errorf("second run: %s %v (%s), want ok", st.Status, st.Changes, st.Message)
			}
		})
	}
}

// snapshot lists every file under the root with its content.
func snapshot(t *testing.T, h *host.Host) map[string]string {
	out := map[string]string{}
	filepath.Walk(h.Root(), func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || fi.Mode()&os.ModeSymlink != 0 {
			return nil
		}
		b, _ := os.ReadFile(p)
		out[h.Rel(p)] = string(b)
		return nil
	})
	return out
}

func sameFiles(t *testing.T, before, after map[string]string) {
	t.Helper()
	for p, v := range after {
		if w, ok := before[p]; !ok {
			t.Errorf("%s was created", p)
		} else if w != v {
			t.Errorf("%s was changed", p)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			t.Errorf("%s was removed", p)
		}
	}
}

func TestScriptsRefusesToStrandDefaultRouteOrSSH(t *testing.T) {
	for _, tc := range []struct {
		name, ssh, want string
		route           bool
	}{
		{name: "default route", route: true, want: "eth2 carries the default route; after the reboot eth2 will be enp6s0 and no network configuration"},
		{name: "ssh session", ssh: "10.0.0.9 50022 10.96.0.2 22", want: "eth2 holds 10.96.0.2, the address of this SSH session; after the reboot eth2 will be enp6s0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nl := testNS(t)
			h := fixture.Host(t, "names-debian")
			links := linksFromFixture(t, nl, h)
			addAddr(t, nl, links["eth2"], "10.96.0.2/24")
			if tc.route {
				defaultVia(t, nl, links["eth2"], "10.96.0.1")
			}
			before := snapshot(t, h)
			s := &Step{Getenv: func(k string) string {
				if k == "SSH_CONNECTION" {
					return tc.ssh
				}
				return ""
			}}
			env := newEnv(h, nl, runnertest.New(t), "scripts")
			_, err := engine.Run(context.Background(), env, []engine.Step{s}, []engine.Step{s}, engine.Options{Who: "test"})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "use --names keep") {
				t.Fatalf("err = %v, want it to say %q and point at keep", err, tc.want)
			}
			after := snapshot(t, h)
			delete(after, engine.StatePath)
			for p := range after {
				if strings.HasPrefix(p, host.StateDir) {
					delete(after, p)
				}
			}
			sameFiles(t, before, after)
		})
	}
}

func TestScriptsRefusesUnpredictable(t *testing.T) {
	h, nl, _ := testHost(t, "names-centos7-cx4")
	// net.ifnames=0 already configured: names follow probe order.
	if err := os.WriteFile(h.Path("/etc/default/grub"), []byte("GRUB_CMDLINE_LINUX=\"quiet net.ifnames=0\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := (&Step{Getenv: noSSH}).Check(context.Background(), newEnv(h, nl, runnertest.New(t), "scripts"))
	if !errors.Is(err, ErrUnpredictable) || !strings.Contains(err.Error(), "--names keep") {
		t.Fatalf("err = %v, want ErrUnpredictable pointing at keep", err)
	}
}

func TestKeepBadInput(t *testing.T) {
	t.Run("rules syntax error", func(t *testing.T) {
		h, nl, _ := testHost(t, "names-centos7-cx4")
		bad := "# mine\nSUBSYSTEM==\"net\", ATTR{address}==00:02:c9:fa:c3:50, NAME:=\"eth0\"\n"
		if err := os.WriteFile(h.Path(RulesPath), []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		before := snapshot(t, h)
		_, err := (&Step{Getenv: noSSH}).Check(context.Background(), newEnv(h, nl, runnertest.New(t), "keep"))
		if !engine.IsBadInput(err) || !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), "line 2") {
			t.Fatalf("err = %v, want bad input naming line 2", err)
		}
		sameFiles(t, before, snapshot(t, h))
	})
	t.Run("duplicate MACs", func(t *testing.T) {
		nl := testNS(t)
		h := fixture.Host(t, "names-centos7-cx4")
		if err := os.WriteFile(h.Path("/sys/class/net/eth1/address"), []byte("00:02:c9:fa:c3:50\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		linksFromFixture(t, nl, h)
		before := snapshot(t, h)
		_, err := (&Step{Getenv: noSSH}).Check(context.Background(), newEnv(h, nl, runnertest.New(t), "keep"))
		if !errors.Is(err, ErrNotUnique) || !strings.Contains(err.Error(), "eth0 and eth1 share the MAC 00:02:c9:fa:c3:50") {
			t.Fatalf("err = %v, want ErrNotUnique naming eth0 and eth1", err)
		}
		sameFiles(t, before, snapshot(t, h))
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestScriptsELRenameDeviceKeepsHWADDRNames(t *testing.T) {
	h, nl, _ := testHost(t, "names-centos7-cx4")
	// initscripts' rename_device gives eth0 (HWADDR= in ifcfg-eth0) its
	// DEVICE= name; eth1's ifcfg has no HWADDR= and follows the PCI path.
	if err := os.WriteFile(h.Path("/usr/lib/udev/rename_device"), nil, 0o755); err != nil {
		if err := os.MkdirAll(h.Path("/usr/lib/udev"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(h.Path("/usr/lib/udev/rename_device"), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	p, err := (&Step{Getenv: noSSH}).Check(context.Background(), newEnv(h, nl, runnertest.New(t), "scripts"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.Message, "after the reboot: eth1 -> enp3s0f1 (PCI path 0000:03:00.1)") {
		t.Errorf("message %q: want only eth1 renamed", p.Message)
	}
	for _, c := range p.Changes {
		if strings.Contains(c.String(), "eth0") || strings.Contains(c.After, "enp3s0f0") {
			t.Errorf("eth0 is pinned by its HWADDR= but the plan changes %v", c)
		}
	}
}

func TestScriptsRefusesApplyNamesNow(t *testing.T) {
	h, nl, _ := testHost(t, "names-centos7-cx4")
	env := newEnv(h, nl, runnertest.New(t), "scripts")
	env.Spec.ApplyNamesNow = true
	if _, err := (&Step{Getenv: noSSH}).Check(context.Background(), env); !engine.IsBadInput(err) {
		t.Fatalf("err = %v, want bad input", err)
	}
}

func TestKeepRefusesDefaultRouteOnAVF(t *testing.T) {
	nl := testNS(t)
	h := fixture.Host(t, "names-centos7-cx4")
	// eth1 is a VF here: its device has a physfn link.
	if err := os.Symlink("../0000:03:00.0", h.Path("/sys/devices/pci0000:00/0000:00:02.0/0000:03:00.1/physfn")); err != nil {
		t.Fatal(err)
	}
	links := linksFromFixture(t, nl, h)
	addAddr(t, nl, links["eth1"], "10.98.0.2/24")
	defaultVia(t, nl, links["eth1"], "10.98.0.1")
	before := snapshot(t, h)
	_, err := (&Step{Getenv: noSSH}).Check(context.Background(), newEnv(h, nl, runnertest.New(t), "keep"))
	if err == nil || !strings.Contains(err.Error(), "eth1 carries the default route, but a rule cannot pin eth1: a VF") {
		t.Fatalf("err = %v, want a refusal naming the VF", err)
	}
	sameFiles(t, before, snapshot(t, h))
}
