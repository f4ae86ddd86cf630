package hugepages

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/doctor"
	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/spec"
)

// hugepages-persistent evaluates vm.nr_hugepages as systemd-sysctl will at
// boot (every sysctl.d folder, names in order, the last setting winning,
// masks, /etc/sysctl.conf) and compares it with the spec.
func TestPersistentAsSystemdSysctl(t *testing.T) {
	const ours = "/etc/sysctl.d/80-photonctl-hugepages.conf"
	file := func(p, s string) func(*testing.T, *host.Host) {
		return func(t *testing.T, h *host.Host) {
			t.Helper()
			if err := os.MkdirAll(filepath.Dir(h.Path(p)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(h.Path(p), []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	link := func(p, target string) func(*testing.T, *host.Host) {
		return func(t *testing.T, h *host.Host) {
			t.Helper()
			if err := os.MkdirAll(filepath.Dir(h.Path(p)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, h.Path(p)); err != nil {
				t.Fatal(err)
			}
		}
	}
	type mod = func(*testing.T, *host.Host)
	for _, tc := range []struct {
		name   string
		mods   []mod
		want   int // spec hugepages; -1 none
		status doctor.Status
		detail string
	}{
		{"ours alone", []mod{file(ours, "# photonctl\nvm.nr_hugepages = 1024\n")}, 1024, doctor.OK, ours + " line 2 (vm.nr_hugepages = 1024"},
		{"/etc/sysctl.conf sets 0 after it", []mod{file(ours, "vm.nr_hugepages = 1024\n"), file("/etc/sysctl.conf", "vm.nr_hugepages = 0\n")},
			1024, doctor.Fail, "at boot vm.nr_hugepages = 0 (/etc/sysctl.conf line 1"},
		{"a later vendor file sets 0", []mod{file(ours, "vm.nr_hugepages = 1024\n"), file("/usr/lib/sysctl.d/90-vendor.conf", "vm/nr_hugepages=0\n")},
			1024, doctor.Fail, "at boot vm.nr_hugepages = 0 (/usr/lib/sysctl.d/90-vendor.conf line 1"},
		{"the vendor file masked in /etc", []mod{file(ours, "vm.nr_hugepages = 1024\n"), file("/usr/lib/sysctl.d/90-vendor.conf", "vm.nr_hugepages=0\n"), link("/etc/sysctl.d/90-vendor.conf", "/dev/null")},
			1024, doctor.OK, "(vm.nr_hugepages = 1024"},
		{"an /etc file hides the same name in /usr/lib", []mod{file("/usr/lib/sysctl.d/85-x.conf", "vm.nr_hugepages=0\n"), file("/etc/sysctl.d/85-x.conf", "vm.nr_hugepages=1024\n")},
			1024, doctor.OK, "/etc/sysctl.d/85-x.conf line 1"},
		{"an earlier name loses to ours", []mod{file(ours, "vm.nr_hugepages = 1024\n"), file("/run/sysctl.d/10-early.conf", "vm.nr_hugepages = 0\n")},
			1024, doctor.OK, ours},
		{"99-sysctl.conf is /etc/sysctl.conf, read in its place", []mod{file(ours, "vm.nr_hugepages = 1024\n"), file("/etc/sysctl.conf", "vm.nr_hugepages = 0\n"),
			link("/etc/sysctl.d/99-sysctl.conf", "../sysctl.conf"), file("/etc/sysctl.d/99-zz.conf", "vm.nr_hugepages = 1024\n")}, 1024, doctor.OK, "99-zz.conf"},
		{"not the spec's count", []mod{file(ours, "vm.nr_hugepages = 512\n")}, 1024, doctor.Fail, "but the spec wants 1024"},
		{"0 with pages reserved now and no spec", []mod{file("/etc/sysctl.conf", "vm.nr_hugepages = 0\n")}, -1, doctor.Fail, "64 × 2M pages are reserved now, but at boot vm.nr_hugepages = 0"},
		{"nothing at boot, the spec wants pages", nil, 1024, doctor.Fail, "nothing reserves them at boot"},
		{"garbage", []mod{file(ours, "vm.nr_hugepages = lots\n")}, 1024, doctor.Fail, `"lots", not a number`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := fixture.Host(t, "base-centos7-2node", "hp-mounted")
			setPool(t, h, AllNodes, "64", "64")
			for _, m := range tc.mods {
				m(t, h)
			}
			sp := spec.Default()
			sp.Hugepages = tc.want
			got := doctorOn(t, h, sp)["hugepages-persistent"]
			if got.Status != tc.status || !strings.Contains(got.Detail, tc.detail) {
				t.Errorf("got %s %q (fix %q), want %s with %q", got.Status, got.Detail, got.Fix, tc.status, tc.detail)
			}
		})
	}
}

func FuzzParseSysctl(f *testing.F) {
	for _, s := range []string{"vm.nr_hugepages = 1024\n", "-vm/nr_hugepages=0\n; c\n# c\n", "=\n x \n", "a.b = c = d\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, s := range ParseSysctl(b) {
			if s.Key == "" || strings.Contains(s.Key, "/") || s.Line < 1 {
				t.Fatalf("bad setting %+v", s)
			}
		}
	})
}

// setup refuses, before changing anything, a reservation that a sysctl
// file read after its own would undo at boot.
func TestStepRefusesAnOverriddenSysctl(t *testing.T) {
	h := fixture.Host(t, "base-centos7-2node", "hp-mounted")
	if err := os.WriteFile(h.Path("/etc/sysctl.conf"), []byte("vm.nr_hugepages = 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := envFor(t, h, func(s *spec.Spec) { s.Hugepages = 8 })
	_, err := NewStep().Check(context.Background(), env)
	if err == nil || !strings.Contains(err.Error(), "/etc/sysctl.conf line 1 sets vm.nr_hugepages = 0, and systemd-sysctl reads it after "+SysctlFile) {
		t.Fatalf("Check = %v", err)
	}
	// A later file that agrees is fine.
	if err := os.WriteFile(h.Path("/etc/sysctl.conf"), []byte("vm.nr_hugepages = 8\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewStep().Check(context.Background(), env); err != nil {
		t.Fatal(err)
	}
}
