package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"gopkg.in/yaml.v3"

	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/spec"
)

// The role's tests that need no guest: its variables against the spec, its
// template through Ansible's own template module, and its whole flow run by
// ansible-playbook on this machine (connection local) against the real
// photonctl with --root on fixture hosts, so nothing of this machine changes
// and no reboot can happen (photonctl_max_reboots=0 is forced).

func roleDir(t *testing.T) string {
	return filepath.Join(fixture.ModuleRoot(t), "deploy", "ansible", "roles", "photonctl")
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// specAsMap is a spec as its YAML keys and values (what a host spec file says).
func specAsMap(t *testing.T, s spec.Spec) map[string]any {
	t.Helper()
	b, err := yaml.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// Every spec key has its variable photonctl_<key>, with photonctl's default,
// in defaults/main.yml, in meta/argument_specs.yml (of the matching type) and
// in the template; and the role has no spec-like variable photonctl lacks.
func TestRoleHasOneVariablePerSpecKey(t *testing.T) {
	dir := roleDir(t)
	var defaults map[string]any
	readYAML(t, filepath.Join(dir, "defaults", "main.yml"), &defaults)
	var argspec struct {
		ArgumentSpecs map[string]struct {
			Options map[string]struct {
				Type    string `yaml:"type"`
				Default any    `yaml:"default"`
			} `yaml:"options"`
		} `yaml:"argument_specs"`
	}
	readYAML(t, filepath.Join(dir, "meta", "argument_specs.yml"), &argspec)
	opts := argspec.ArgumentSpecs["main"].Options
	tmpl, err := os.ReadFile(filepath.Join(dir, "templates", "host.yaml.j2"))
	if err != nil {
		t.Fatal(err)
	}
	want := specAsMap(t, spec.Default())
	types := map[reflect.Kind]string{reflect.String: "str", reflect.Int: "int", reflect.Bool: "bool", reflect.Slice: "list"}
	st := reflect.TypeOf(spec.Spec{})
	for i, f := range spec.Fields() {
		v := "photonctl_" + f.Key
		d, ok := defaults[v]
		if !ok {
			t.Errorf("defaults/main.yml has no %s (spec key %s)", v, f.Key)
		} else if !reflect.DeepEqual(d, want[f.Key]) {
			t.Errorf("defaults/main.yml: %s is %#v, photonctl's default is %#v", v, d, want[f.Key])
		}
		o, ok := opts[v]
		switch {
		case !ok:
			t.Errorf("meta/argument_specs.yml has no option %s", v)
		case !reflect.DeepEqual(o.Default, want[f.Key]):
			t.Errorf("meta/argument_specs.yml: %s defaults to %#v, photonctl's default is %#v", v, o.Default, want[f.Key])
		case o.Type != types[st.Field(i).Type.Kind()]:
			t.Errorf("meta/argument_specs.yml: %s is of type %s, want %s", v, o.Type, types[st.Field(i).Type.Kind()])
		}
		if !bytes.Contains(tmpl, []byte("\n"+f.Key+": {{ "+v+" ")) {
			t.Errorf("templates/host.yaml.j2 has no line %q", f.Key+": {{ "+v+" ...")
		}
	}
	for v := range defaults {
		if _, ok := opts[v]; !ok {
			t.Errorf("defaults/main.yml has %s, meta/argument_specs.yml does not", v)
		}
	}
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for v := range opts {
		if _, ok := defaults[v]; !ok {
			t.Errorf("meta/argument_specs.yml has %s, defaults/main.yml does not", v)
		}
		if !bytes.Contains(readme, []byte("\n| `"+v+"` | ")) {
			t.Errorf("the role's README.md has no row for %s", v)
		}
	}
}

// The top-level README's "Many hosts" shows the example playbook and
// inventory as they are in deploy/ansible.
func TestREADMEManyHostsShowsThePlaybook(t *testing.T) {
	root := fixture.ModuleRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "\n## Many hosts\n")
	if !ok {
		t.Fatal("README.md has no \"## Many hosts\" section")
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	for _, f := range []string{"site.yml", "inventory.example.yml"} {
		want, err := os.ReadFile(filepath.Join(root, "deploy", "ansible", f))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(sec, "```yaml\n"+string(want)+"```\n") {
			t.Errorf("README.md's Many hosts does not show deploy/ansible/%s as it is", f)
		}
	}
}

// ansibleTools skips the test unless Ansible's commands are installed.
func ansibleTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the role's tests need %s (Debian: apt-get install ansible-core)", tool)
		}
	}
}

// ansibleEnv keeps Ansible's own files (temporary folders, its home) in dir.
func ansibleEnv(dir string) []string {
	return []string{
		"ANSIBLE_HOME=" + filepath.Join(dir, "ansible-home"),
		"ANSIBLE_LOCAL_TEMP=" + filepath.Join(dir, "ansible-local-tmp"),
		"ANSIBLE_REMOTE_TEMP=" + filepath.Join(dir, "ansible-remote-tmp"),
		"ANSIBLE_SSH_CONTROL_PATH_DIR=" + filepath.Join(dir, "ansible-cp"),
		"ANSIBLE_NOCOLOR=1",
		"ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3",
	}
}

// The template, rendered by Ansible's template module, is a spec photonctl
// reads back as the variables said: the defaults give photonctl's default
// spec, and a value for every variable gives exactly those values.
func TestRoleTemplateRendersTheSpec(t *testing.T) {
	ansibleTools(t, "ansible")
	all := spec.Spec{
		IOMMUArgs: []string{"intel_iommu=on", "iommu=pt"}, PCIRealloc: true,
		PF: "0000:03:00.0", VFs: 4, VFTrust: true, VFSpoofCheck: "off", VFVLAN: 100, VFMAC: true, BindVFIO: true,
		OFEDDir: "/srv/ofed", FWReset: true,
		Names: "scripts", ApplyNamesNow: true,
		Hugepages: 512, HugepageSize: "1G", NUMANode: "1",
		Fstack: true, FstackConf: "/etc/f-stack-a.conf", FstackVersion: "1.24", LowLatency: true, IPv6: true,
		FstackAddr: "10.0.3.20/24", FstackGateway: "10.0.3.1",
	}
	// A new spec field must get a value here too.
	dv, av := reflect.ValueOf(spec.Default()), reflect.ValueOf(all)
	for i, f := range spec.Fields() {
		if reflect.DeepEqual(dv.Field(i).Interface(), av.Field(i).Interface()) {
			t.Fatalf("the test's spec leaves %s at its default: give it another value", f.Key)
		}
	}
	for _, tc := range []struct {
		name string
		vars spec.Spec
		set  bool
	}{{"defaults", spec.Default(), false}, {"every key", all, true}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			vars := map[string]any{}
			if tc.set {
				for k, v := range specAsMap(t, tc.vars) {
					vars["photonctl_"+k] = v
				}
			}
			vb, _ := json.Marshal(vars)
			varsFile := filepath.Join(dir, "vars.json")
			if err := os.WriteFile(varsFile, vb, 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "host.yaml")
			cmd := exec.Command("ansible", "all", "-i", "localhost,", "-c", "local",
				"-m", "ansible.builtin.template",
				"-a", fmt.Sprintf("src=%s dest=%s mode=0644", filepath.Join(roleDir(t), "templates", "host.yaml.j2"), out),
				"-e", "@"+filepath.Join(roleDir(t), "defaults", "main.yml"), "-e", "@"+varsFile)
			cmd.Env = append(os.Environ(), ansibleEnv(dir)...)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("ansible -m template: %v\n%s", err, b)
			}
			f, err := os.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := spec.Parse(f)
			if err != nil {
				b, _ := os.ReadFile(out)
				t.Fatalf("photonctl rejects the rendered spec: %v\n%s", err, b)
			}
			if !reflect.DeepEqual(got, tc.vars) {
				b, _ := os.ReadFile(out)
				t.Errorf("rendered spec reads back as\n%+v\nwant\n%+v\n%s", got, tc.vars, b)
			}
		})
	}
}

// testPlaybook is the play the role's tests run: the role, then the facts it
// set handed back to the test as one JSON file per host. It has no serial
// and no max_fail_percentage: a failed host leaves the others going.
const testPlaybook = `---
- name: Prepare the dataplane hosts
  hosts: dataplane
  gather_facts: false
  roles:
    - role: photonctl
  post_tasks:
    - name: Hand the role's facts to the test
      ansible.builtin.copy:
        content: >-
          {{ {'version': photonctl_version, 'reboots': photonctl_reboots | int,
              'setup': photonctl_setup_report | default({}),
              'doctor': photonctl_doctor_report | default({})} | to_json }}
        dest: "{{ test_facts_dir }}/{{ inventory_hostname }}.json"
        mode: "0644"
      delegate_to: localhost
      changed_when: false
      check_mode: false
`

// roleFacts is what the test play hands back for a host.
type roleFacts struct {
	Version string       `json:"version"`
	Reboots int          `json:"reboots"`
	Setup   setupReport  `json:"setup"`
	Doctor  doctorReport `json:"doctor"`
}

func readRoleFacts(t *testing.T, dir, host string) (roleFacts, bool) {
	t.Helper()
	var f roleFacts
	b, err := os.ReadFile(filepath.Join(dir, host+".json"))
	if os.IsNotExist(err) {
		return f, false
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("facts of %s: %v\n%s", host, err, b)
	}
	return f, true
}

// newTestPlay writes the test playbook and an inventory of hosts (host ->
// its variables) into dir.
func newTestPlay(t *testing.T, dir string, hosts map[string]map[string]any) *Playbook {
	t.Helper()
	inv := map[string]any{"dataplane": map[string]any{"hosts": hosts}}
	b, err := json.MarshalIndent(inv, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "inventory.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "play.yml"), []byte(testPlaybook), 0o644); err != nil {
		t.Fatal(err)
	}
	return &Playbook{
		Dir: dir, Inventory: "inventory.json", Playbook: "play.yml",
		Env: append(ansibleEnv(dir), "ANSIBLE_ROLES_PATH="+filepath.Dir(roleDir(t))),
	}
}

// photonctlForTest is the photonctl binary the local tests run: PHOTONCTL_BIN,
// or one built now.
func photonctlForTest(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("PHOTONCTL_BIN"); b != "" {
		return b
	}
	out := filepath.Join(t.TempDir(), "photonctl")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/photonctl")
	cmd.Dir = fixture.ModuleRoot(t)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/photonctl: %v\n%s", err, b)
	}
	return out
}

// fixtureHost is one inventory host of the local test: a fixture host tree
// and a photonctl that works on it (--root), logging its arguments.
type fixtureHost struct {
	root, calls, command, config string
}

func newFixtureHost(t *testing.T, dir, name, bin string, layers ...string) fixtureHost {
	t.Helper()
	if len(layers) == 0 {
		layers = []string{"base-centos7-2node", "hp-mounted", "q35-igb"}
	}
	h := fixture.Host(t, layers...)
	fh := fixtureHost{
		root:    h.Root(),
		calls:   filepath.Join(dir, name+".calls"),
		command: filepath.Join(dir, "photonctl-"+name),
		config:  filepath.Join(dir, name, "host.yaml"),
	}
	script := fmt.Sprintf("#!/bin/sh\n# photonctl on the fixture host %s\necho \"$*\" >>'%s'\nexec '%s' --root '%s' \"$@\"\n", name, fh.calls, bin, fh.root)
	if err := os.WriteFile(fh.command, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return fh
}

func (fh fixtureHost) vars(more map[string]any) map[string]any {
	v := map[string]any{
		"ansible_connection":    "local",
		"photonctl_install":     false,
		"photonctl_command":     fh.command,
		"photonctl_config_path": fh.config,
	}
	for k, x := range more {
		v[k] = x
	}
	return v
}

// setupCalls lists the setup runs photonctl saw (dry runs apart).
func (fh fixtureHost) setupCalls(t *testing.T) (real, dry []string) {
	t.Helper()
	b, err := os.ReadFile(fh.calls)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		switch {
		case !strings.HasPrefix(l, "setup "):
		case strings.Contains(l, "--dry-run"):
			dry = append(dry, l)
		default:
			real = append(real, l)
		}
	}
	return real, dry
}

// The role's flow through ansible-playbook, one play over four fixture hosts:
//   - good: converges (hugepages), doctor passes; the second run changes
//     nothing; check mode with another page count shows the plan and
//     changes nothing (grubplan: a plan with a file and a command).
//   - impossible: 8 VFs on the igb's 7: photonctl's message fails the host
//     before anything changes (changed=0, no spec, no folder for it, no
//     setup run); its host tree is untouched.
//   - locked: another setup holds the host's lock, so setup exits 1: the
//     host fails with photonctl's message and is not rebooted.
//   - rebootloop: a reboot photonctl still waits for (exit 3) with no
//     reboot allowed: the host fails saying so and is not rebooted.
//   - doctorfail: a failing check fails the host with its detail and fix; a
//     failing check named in photonctl_doctor_ignore does not.
func TestRoleFlowOnFixtureHosts(t *testing.T) {
	ansibleTools(t, "ansible-playbook")
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("the role's flow test needs /usr/bin/python3 for Ansible's modules")
	}
	bin := photonctlForTest(t)
	dir := t.TempDir()
	factsDir := filepath.Join(dir, "facts")
	if err := os.MkdirAll(factsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	good := newFixtureHost(t, dir, "good", bin)
	impossible := newFixtureHost(t, dir, "impossible", bin)
	locked := newFixtureHost(t, dir, "locked", bin)
	rebootloop := newFixtureHost(t, dir, "rebootloop", bin)
	doctorfail := newFixtureHost(t, dir, "doctorfail", bin)
	// grubplan is only planned for (check mode, run 3): a Debian 12 host
	// whose update-grub exists to be found, never run.
	grubplan := newFixtureHost(t, dir, "grubplan", bin, "grub-debian12")
	if err := os.MkdirAll(filepath.Join(grubplan.root, "usr/sbin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(grubplan.root, "usr/sbin/update-grub"), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}

	// Another setup holds locked's lock for the whole test.
	lockPath := filepath.Join(locked.root, "var/lib/photonctl/setup.lock")
	if err := os.MkdirAll(filepath.Dir(lockPath), 0o755); err != nil {
		t.Fatal(err)
	}
	lf, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	if err := unix.Flock(int(lf.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(lf, "pid %d, the role's test, since now\n", os.Getpid())
	// rebootloop asked for a reboot in this very boot.
	bootID, err := os.ReadFile(filepath.Join(rebootloop.root, "proc/sys/kernel/random/boot_id"))
	if err != nil {
		t.Fatal(err)
	}
	state := fmt.Sprintf(`{"schema":1,"boot_id":%q,"pending_reboot":["grub"],"updated":"2026-12-01T00:00:00Z"}`, strings.TrimSpace(string(bootID)))
	if err := os.MkdirAll(filepath.Join(rebootloop.root, "var/lib/photonctl"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rebootloop.root, "var/lib/photonctl/state.json"), []byte(state), 0o644); err != nil {
		t.Fatal(err)
	}

	hugepages := map[string]any{"photonctl_only": []string{"hugepages"}, "photonctl_hugepages": 8, "photonctl_doctor_only": []string{"hugepages"},
		// doctor checks the free pages against what setup applied; a
		// fixture's sysfs is plain files, so its free count stays 0.
		"photonctl_doctor_ignore": map[string]string{"hugepages-reserved-2M": "a fixture's free page count does not follow the reservation"}}
	p := newTestPlay(t, dir, map[string]map[string]any{
		"good":       good.vars(hugepages),
		"impossible": impossible.vars(map[string]any{"photonctl_only": []string{"sriov"}, "photonctl_pf": "enp1s0", "photonctl_vfs": 8}),
		"locked":     locked.vars(hugepages),
		"rebootloop": rebootloop.vars(hugepages),
		"doctorfail": doctorfail.vars(map[string]any{
			"photonctl_only": []string{"hugepages"}, "photonctl_hugepages": 8,
			"photonctl_doctor_only":   []string{"kernel", "dpdk"},
			"photonctl_doctor_ignore": map[string]string{"dpdk-version": "DPDK comes with the application's role"},
		}),
		"grubplan": grubplan.vars(map[string]any{
			"photonctl_only": []string{"grub"}, "photonctl_iommu_args": []string{"intel_iommu=on", "iommu=pt"},
			"photonctl_doctor": false,
		}),
	})
	// No reboot, whatever happens: this is the machine the test runs on.
	noReboot := []string{"-e", "photonctl_max_reboots=0", "-e", "test_facts_dir=" + factsDir}
	impossibleBefore := fixture.Snapshot(t, impossible.root)

	// Run 1 (grubplan is for check mode only).
	r, err := p.Run(10*time.Minute, append(noReboot, "--limit", "all:!grubplan")...)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("run 1:\n%s", r.Output)
	if r.Exit != 2 {
		t.Errorf("run 1: ansible-playbook exit %d, want 2 (some hosts fail)", r.Exit)
	}
	for h, failed := range map[string]int{"good": 0, "impossible": 1, "locked": 1, "rebootloop": 1, "doctorfail": 1} {
		if got := r.Recap[h]; got.Failed != failed || got.Unreachable != 0 {
			t.Errorf("run 1: %s: recap %+v, want failed=%d", h, got, failed)
		}
		for _, o := range r.Outcomes(h, "Reboot, as photonctl setup asks (exit 3)") {
			if o != "skipping" {
				t.Errorf("run 1: %s: the reboot task is %s", h, o)
			}
		}
	}
	if r.Recap["good"].Changed == 0 {
		t.Errorf("run 1: good changed nothing: %+v", r.Recap["good"])
	}
	if got := r.Outcomes("good", "Run photonctl setup"); !reflect.DeepEqual(got, []string{"changed"}) {
		t.Errorf("run 1: good's setup task: %v, want [changed]", got)
	}
	gf, ok := readRoleFacts(t, factsDir, "good")
	if !ok {
		t.Fatal("run 1: good handed back no facts")
	}
	if len(gf.Setup.Steps) != 1 || gf.Setup.Steps[0].Name != "hugepages" || gf.Setup.Steps[0].Status != "changed" {
		t.Errorf("run 1: good's photonctl_setup_report: %+v", gf.Setup)
	}
	if len(gf.Doctor.Checks) == 0 {
		t.Errorf("run 1: good's photonctl_doctor_report has no checks")
	}
	if gf.Version == "" || gf.Reboots != 0 {
		t.Errorf("run 1: good's facts: version %q, reboots %d", gf.Version, gf.Reboots)
	}
	if b, err := os.ReadFile(filepath.Join(good.root, "sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages")); err != nil || strings.TrimSpace(string(b)) != "8" {
		t.Errorf("run 1: good's nr_hugepages: %q %v, want 8", b, err)
	}
	goodSpec, err := os.ReadFile(good.config)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := spec.Parse(bytes.NewReader(goodSpec)); err != nil || s.Hugepages != 8 {
		t.Errorf("run 1: good's %s: %v\n%s", good.config, err, goodSpec)
	}

	fatal := func(host string, want ...string) {
		t.Helper()
		fs := r.Fatal[host]
		if len(fs) == 0 {
			t.Errorf("run 1: %s did not fail", host)
			return
		}
		msg := fs[len(fs)-1].Msg
		for _, w := range want {
			if !strings.Contains(msg, w) {
				t.Errorf("run 1: %s's failure %q lacks %q", host, msg, w)
			}
		}
	}
	fatal("impossible", "allows at most 7 VFs", "ask for 7 or fewer", "was not written", "setup did not run")
	if _, err := os.Stat(impossible.config); !os.IsNotExist(err) {
		t.Errorf("run 1: impossible's spec %s was written (%v)", impossible.config, err)
	}
	if real, _ := impossible.setupCalls(t); len(real) > 0 {
		t.Errorf("run 1: photonctl setup ran on impossible: %q", real)
	}
	if c := r.Recap["impossible"].Changed; c != 0 {
		t.Errorf("run 1: impossible has changed=%d, want 0: it fails before anything changes", c)
	}
	if _, err := os.Stat(filepath.Dir(impossible.config)); !os.IsNotExist(err) {
		t.Errorf("run 1: the folder of impossible's spec was made (%v)", err)
	}
	if after := fixture.Snapshot(t, impossible.root); after != impossibleBefore {
		t.Errorf("run 1: impossible's host changed:\n%s", fixture.Diff(impossibleBefore, after))
	}
	fatal("locked", "exit 1", "another photonctl setup is running", "the role's test", "not rebooted")
	fatal("rebootloop", "asks for another reboot after 0", "photonctl_max_reboots is 0")
	fatal("doctorfail", "kernel-iommu-on fails", "no IOMMU is active", "fix: ")
	if msg := r.Fatal["doctorfail"][len(r.Fatal["doctorfail"])-1].Msg; strings.Contains(msg, "dpdk-version") {
		t.Errorf("run 1: doctorfail's failure names the ignored check dpdk-version: %q", msg)
	}
	if !strings.Contains(r.Output, "dpdk-version fails, ignored (DPDK comes with the application's role)") {
		t.Errorf("run 1: the ignored check is not shown with its reason")
	}

	// Run 2: nothing left to change on good.
	r, err = p.Run(10*time.Minute, append(noReboot, "--limit", "good")...)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("run 2:\n%s", r.Output)
	if r.Exit != 0 || r.Recap["good"].Changed != 0 || r.Recap["good"].Failed != 0 {
		t.Errorf("run 2: exit %d, good %+v: want exit 0, changed=0", r.Exit, r.Recap["good"])
	}

	// Run 3, check mode with another page count on good, and grub's plan on
	// grubplan: the plans, and nothing changed.
	goodBefore := fixture.Snapshot(t, good.root)
	grubBefore := fixture.Snapshot(t, grubplan.root)
	r, err = p.Run(10*time.Minute, append(noReboot, "--limit", "good,grubplan", "--check", "--diff", "-e", "photonctl_hugepages=16")...)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("run 3 (check):\n%s", r.Output)
	if r.Exit != 0 || r.Recap["good"].Changed == 0 || r.Recap["grubplan"].Changed == 0 {
		t.Errorf("run 3 (check): exit %d, good %+v, grubplan %+v: want exit 0 and changes shown", r.Exit, r.Recap["good"], r.Recap["grubplan"])
	}
	for _, want := range []string{
		"hugepages: planned: 8 × 2M pages reserved in all, want 16; sysfs /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages: 8 -> 16",
		"grub: planned: Debian BIOS (update-grub)",
		`file /etc/default/grub:10: GRUB_CMDLINE_LINUX=\"\" -> GRUB_CMDLINE_LINUX=\"intel_iommu=on iommu=pt\"; command update-grub"`,
		"This plan needs a reboot",
		"\n-hugepages: 8\n+hugepages: 16\n", // --diff: the spec file
	} {
		if !strings.Contains(r.Output, want) {
			t.Errorf("run 3 (check): the plan lacks %q", want)
		}
	}
	if after := fixture.Snapshot(t, good.root); after != goodBefore {
		t.Errorf("run 3 (check): good's host changed:\n%s", fixture.Diff(goodBefore, after))
	}
	if after := fixture.Snapshot(t, grubplan.root); after != grubBefore {
		t.Errorf("run 3 (check): grubplan's host changed:\n%s", fixture.Diff(grubBefore, after))
	}
	if _, err := os.Stat(grubplan.config); !os.IsNotExist(err) {
		t.Errorf("run 3 (check): grubplan's spec %s was written (%v)", grubplan.config, err)
	}
	if b, _ := os.ReadFile(good.config); !bytes.Equal(b, goodSpec) {
		t.Errorf("run 3 (check): %s changed:\n%s", good.config, b)
	}
	if real, _ := good.setupCalls(t); len(real) != 2 {
		t.Errorf("run 3 (check): setup ran for real: %q", real)
	}
}

// The example playbook is valid and the role passes ansible-lint's
// production profile (ansible-lint is slow: make lint runs it; this checks
// the syntax only).
func TestRolePlaybookSyntax(t *testing.T) {
	ansibleTools(t, "ansible-playbook")
	dir := t.TempDir()
	cmd := exec.Command("ansible-playbook", "--syntax-check", "-i", "inventory.example.yml", "site.yml")
	cmd.Dir = filepath.Join(fixture.ModuleRoot(t), "deploy", "ansible")
	cmd.Env = append(os.Environ(), ansibleEnv(dir)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ansible-playbook --syntax-check site.yml: %v\n%s", err, b)
	}
}
