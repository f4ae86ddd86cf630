package main

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/runner/runnertest"
)

type typedChange struct {
	Kind, Path, Key string
	Argv            []string
	Line            int
	Before, After   string
}

// planChanges runs setup --dry-run -o json and returns its schema and every
// change of every step.
func planChanges(t *testing.T, fake *runnertest.Fake, args ...string) (int, []typedChange) {
	t.Helper()
	r := photonctlWith(t, fake, append([]string{"-o", "json"}, args...)...)
	var rep struct {
		Schema int
		Steps  []struct{ Changes []typedChange }
	}
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil || r.code != 0 {
		t.Fatalf("exit %d, %v:\n%s%s", r.code, err, r.out, r.err)
	}
	var out []typedChange
	for _, s := range rep.Steps {
		out = append(out, s.Changes...)
	}
	return rep.Schema, out
}

// Setup's JSON changes are typed: a kind, the path or argv, the line of a
// file, before and after; no prose in path (schema 2).
func TestSetupJSONChangesAreTyped(t *testing.T) {
	h := fixture.Host(t, "grub-centos7")
	schema, got := planChanges(t, runnertest.New(t).Tools("grub2-mkconfig"), "--root", h.Root(), "setup", "--dry-run", "--only", "grub")
	want := []typedChange{
		{Kind: "file", Path: "/etc/default/grub", Line: 6,
			Before: `GRUB_CMDLINE_LINUX="crashkernel=auto rd.lvm.lv=centos/root rd.lvm.lv=centos/swap rhgb quiet"`,
			After:  `GRUB_CMDLINE_LINUX="crashkernel=auto rd.lvm.lv=centos/root rd.lvm.lv=centos/swap rhgb quiet intel_iommu=on iommu=pt"`},
		{Kind: "command", Argv: []string{"grub2-mkconfig", "-o", "/boot/grub2/grub.cfg"}},
	}
	if schema != 2 || !reflect.DeepEqual(got, want) {
		t.Errorf("schema %d, changes\n%+v\nwant\n%+v", schema, got, want)
	}

	h = fixture.Host(t, "base-centos7-2node")
	_, got = planChanges(t, runnertest.New(t), "--root", h.Root(), "setup", "--dry-run", "--hugepages", "8")
	kinds := map[string]typedChange{}
	for _, c := range got {
		kinds[c.Kind] = c
	}
	if c := kinds["sysfs"]; c.Path != "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages" || c.Before != "0" || c.After != "8" {
		t.Errorf("sysfs change %+v", c)
	}
	if c := kinds["mount"]; c.Path != "/dev/hugepages" || c.Before != "not mounted" {
		t.Errorf("mount change %+v", c)
	}
	if c := kinds["file"]; c.Path != "/etc/sysctl.d/80-photonctl-hugepages.conf" || c.After != "vm.nr_hugepages = 8" {
		t.Errorf("file change %+v", c)
	}

	h = fixture.Host(t, "mlnx-cx4lx-off", "mlnx-cx4lx-on")
	_, got = planChanges(t, runnertest.New(t).Tools("systemctl"), "--root", h.Root(), "setup", "--dry-run", "--only", "sriov", "--vfs", "4")
	var unit *typedChange
	for i, c := range got {
		if c.Kind == "unit" {
			unit = &got[i]
		}
		if c.Kind == "" || c.Kind == "command" && len(c.Argv) == 0 || c.Kind != "command" && c.Path == "" {
			t.Errorf("untyped change %+v", c)
		}
	}
	if unit == nil || unit.Argv[0] != "systemctl" || unit.Argv[1] != "enable" || unit.After != "enabled" {
		t.Errorf("no unit change enabling the VF unit in %+v", got)
	}
}
