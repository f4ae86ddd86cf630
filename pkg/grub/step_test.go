package grub

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/golden"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/runner/runnertest"
	"github.com/photonctl/photonctl/pkg/spec"
)

const (
	rhel8Entry = "/boot/loader/entries/8f3a2c1d9e4b4a7f8c6d5e4f3a2b1c0d-4.18.0-513.5.1.el8_9.x86_64.conf"
	rhel9Entry = "/boot/loader/entries/8f3a2c1d9e4b4a7f8c6d5e4f3a2b1c0d-5.14.0-362.8.1.el9_3.x86_64.conf"
)

var intelArgs = []string{"intel_iommu=on", "iommu=pt"}

type stepCase struct {
	name, fixture string
	// prep changes the fixture before the run.
	prep func(t *testing.T, h *host.Host)
	// fake registers the commands the run must make.
	fake func(t *testing.T, h *host.Host, f *runnertest.Fake)
	spec func(*spec.Spec)
	// want is GRUB_CMDLINE_LINUX as /bin/sh reads it afterwards.
	want string
	// running is a /proc/cmdline that has the arguments.
	running string
}

func stepCases() []stepCase {
	mk := func(cfg, linux string, argv ...string) func(*testing.T, *host.Host, *runnertest.Fake) {
		return func(t *testing.T, h *host.Host, f *runnertest.Fake) {
			f.Expect(runnertest.Call{Argv: argv, Do: fakeMkconfig(t, h, cfg, linux)})
		}
	}
	grubby := func(grubenv string, argv ...string) func(*testing.T, *host.Host, *runnertest.Fake) {
		return func(t *testing.T, h *host.Host, f *runnertest.Fake) {
			f.Expect(runnertest.Call{Argv: argv, Do: fakeGrubby(t, h, grubenv, intelArgs, nil)})
		}
	}
	none := func(*testing.T, *host.Host, *runnertest.Fake) {}
	c7run := "BOOT_IMAGE=/vmlinuz-3.10.0-1160.el7.x86_64 root=/dev/mapper/centos-root ro crashkernel=auto rd.lvm.lv=centos/root rd.lvm.lv=centos/swap rhgb quiet intel_iommu=on iommu=pt"
	c7want := "crashkernel=auto rd.lvm.lv=centos/root rd.lvm.lv=centos/swap rhgb quiet intel_iommu=on iommu=pt"
	r8want := "crashkernel=auto resume=/dev/mapper/rhel-swap rd.lvm.lv=rhel/root rd.lvm.lv=rhel/swap rhgb quiet intel_iommu=on iommu=pt"
	r8run := "BOOT_IMAGE=(hd0,msdos1)/vmlinuz-4.18.0-513.5.1.el8_9.x86_64 root=/dev/mapper/rhel-root ro " + r8want
	r9want := "crashkernel=1G-4G:192M,4G-64G:256M,64G-:512M resume=/dev/mapper/rhel-swap rd.lvm.lv=rhel/root rd.lvm.lv=rhel/swap rhgb quiet intel_iommu=on iommu=pt"
	r9run := "BOOT_IMAGE=(hd0,gpt2)/vmlinuz-5.14.0-362.8.1.el9_3.x86_64 root=/dev/mapper/rhel-root ro " + r9want
	return []stepCase{
		{name: "centos7-add", fixture: "grub-centos7", fake: mk("/boot/grub2/grub.cfg", "linux16", "grub2-mkconfig", "-o", "/boot/grub2/grub.cfg"), want: c7want, running: c7run},
		{name: "centos7-replace", fixture: "grub-centos7",
			prep: func(t *testing.T, h *host.Host) {
				replaceIn(t, h, DefaultGrub, "rhgb quiet", "intel_iommu=off rhgb quiet iommu=ptx")
			},
			fake: mk("/boot/grub2/grub.cfg", "linux16", "grub2-mkconfig", "-o", "/boot/grub2/grub.cfg"),
			want: "crashkernel=auto rd.lvm.lv=centos/root rd.lvm.lv=centos/swap intel_iommu=on rhgb quiet iommu=pt", running: c7run},
		{name: "centos7-pci-realloc", fixture: "grub-centos7", spec: func(s *spec.Spec) { s.PCIRealloc = true },
			fake: mk("/boot/grub2/grub.cfg", "linux16", "grub2-mkconfig", "-o", "/boot/grub2/grub.cfg"), want: c7want + " pci=realloc", running: c7run + " pci=realloc"},
		{name: "centos7-uefi-add", fixture: "grub-centos7-uefi", fake: mk("/boot/efi/EFI/centos/grub.cfg", "linuxefi", "grub2-mkconfig", "-o", "/boot/efi/EFI/centos/grub.cfg"), want: c7want, running: c7run},
		{name: "rhel8-add-no-grubby", fixture: "grub-rhel8", fake: none, want: r8want, running: r8run},
		{name: "rhel8-add-grubby", fixture: "grub-rhel8", fake: grubby(EL8Grubenv, "grubby", "--update-kernel=ALL", "--args=intel_iommu=on iommu=pt"), want: r8want, running: r8run},
		{name: "rhel9-add-grubby", fixture: "grub-rhel9", fake: grubby("", "grubby", "--update-kernel=ALL", "--args=intel_iommu=on iommu=pt"), want: r9want, running: r9run},
		{name: "rhel9-replace-no-grubby", fixture: "grub-rhel9",
			prep: func(t *testing.T, h *host.Host) {
				replaceIn(t, h, DefaultGrub, "rhgb quiet", "rhgb quiet intel_iommu=off")
				replaceIn(t, h, rhel9Entry, "rhgb quiet", "rhgb quiet intel_iommu=off")
			},
			fake: none, want: r9want, running: r9run},
		{name: "ubuntu2204-add", fixture: "grub-ubuntu2204", fake: mk("/boot/grub/grub.cfg", "linux", "update-grub"), want: "intel_iommu=on iommu=pt",
			running: "BOOT_IMAGE=/boot/vmlinuz-5.15.0-91-generic root=UUID=1b2c3d4e-5f60-4718-92a3-b4c5d6e7f809 ro intel_iommu=on iommu=pt console=tty1 console=ttyS0"},
		{name: "ubuntu2204-grub-mkconfig", fixture: "grub-ubuntu2204", fake: mk("/boot/grub/grub.cfg", "linux", "grub-mkconfig", "-o", "/boot/grub/grub.cfg"), want: "intel_iommu=on iommu=pt",
			running: "BOOT_IMAGE=/boot/vmlinuz-5.15.0-91-generic root=UUID=1b2c3d4e-5f60-4718-92a3-b4c5d6e7f809 ro intel_iommu=on iommu=pt console=tty1 console=ttyS0"},
		{name: "debian12-add", fixture: "grub-debian12", fake: mk("/boot/grub/grub.cfg", "linux", "update-grub"), want: "iommu=pt",
			running: "BOOT_IMAGE=/boot/vmlinuz-6.1.0-13-amd64 root=UUID=2c3d4e5f-6071-4829-a3b4-c5d6e7f8091a ro iommu=pt quiet"},
		{name: "debian12-remove", fixture: "grub-debian12",
			prep: func(t *testing.T, h *host.Host) {
				replaceIn(t, h, DefaultGrub, `GRUB_CMDLINE_LINUX=""`, `GRUB_CMDLINE_LINUX="iommu=pt amd_iommu=on net.ifnames=0"`)
			},
			fake: mk("/boot/grub/grub.cfg", "linux", "update-grub"), want: "iommu=pt net.ifnames=0",
			running: "BOOT_IMAGE=/boot/vmlinuz-6.1.0-13-amd64 root=UUID=2c3d4e5f-6071-4829-a3b4-c5d6e7f8091a ro iommu=pt net.ifnames=0 quiet"},
	}
}

type fileStat struct {
	ino   uint64
	mtime int64
	data  string
}

// snapshot records every file under the root but photonctl's own state.
func snapshot(t *testing.T, h *host.Host) map[string]fileStat {
	out := map[string]fileStat{}
	filepath.Walk(h.Root(), func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || strings.Contains(p, "/var/lib/photonctl/") {
			return nil
		}
		b, _ := os.ReadFile(p)
		st := fi.Sys().(*syscall.Stat_t)
		out[h.Rel(p)] = fileStat{st.Ino, fi.ModTime().UnixNano(), string(b)}
		return nil
	})
	return out
}

func TestStepFlavours(t *testing.T) {
	for _, tc := range stepCases() {
		t.Run(tc.name, func(t *testing.T) {
			h := fixture.Host(t, tc.fixture)
			if tc.prep != nil {
				tc.prep(t, h)
			}
			f := runnertest.New(t)
			if strings.Contains(tc.name, "-grubby") && !strings.Contains(tc.name, "no-grubby") {
				f.Tools("grubby")
			}
			tc.fake(t, h, f)
			env := newEnv(h, f, tc.spec)
			p := checkApply(t, env)
			if !p.RebootPending {
				t.Error("the running kernel lacks the arguments, yet no reboot pending")
			}
			// The golden output: the plan, the commands, the files afterwards.
			var b strings.Builder
			fmt.Fprintf(&b, "message: %s\n", p.Message)
			var files []string
			for _, c := range p.Changes {
				fmt.Fprintf(&b, "change %s\n", c)
				if c.Before != "" || c.After != "" {
					fmt.Fprintf(&b, "  - %s\n  + %s\n", c.Before, c.After)
				}
				if c.Kind == engine.KindFile {
					files = append(files, c.Path)
				}
			}
			for _, l := range f.Log() {
				fmt.Fprintf(&b, "ran: %s\n", l)
			}
			sort.Strings(files)
			for _, p := range files {
				fmt.Fprintf(&b, "==== %s\n%s", p, strings.TrimRight(readFile(t, h, p), "#"))
			}
			golden.Assert(t, "testdata/"+tc.name+".golden", []byte(b.String()))

			// The real consumer: /bin/sh reads the arguments.
			if got := strings.Join(shValue(t, h, CmdlineVar), " "); got != tc.want {
				t.Errorf("/bin/sh reads GRUB_CMDLINE_LINUX=%q, want %q", got, tc.want)
			}

			// Second run: nothing to do, no file touched.
			before := snapshot(t, h)
			env.Txn = h.Begin("", "second")
			p2, err := NewStep().Check(context.Background(), env)
			if err != nil {
				t.Fatal(err)
			}
			if len(p2.Changes) != 0 || !p2.RebootPending {
				t.Fatalf("second run: changes %v, reboot pending %v", p2.Changes, p2.RebootPending)
			}
			if _, err := NewStep().Apply(context.Background(), env, p2); err != nil {
				t.Fatal(err)
			}
			after := snapshot(t, h)
			for p, st := range before {
				if after[p] != st {
					t.Errorf("second run touched %s", p)
				}
			}
			if len(env.Txn.Entries()) != 0 {
				t.Errorf("second run backed up %v", env.Txn.Entries())
			}

			// After the reboot: /proc/cmdline has them, the step is ok.
			writeFile(t, h, ProcCmdline, tc.running+"\n")
			p3, err := NewStep().Check(context.Background(), env)
			if err != nil {
				t.Fatal(err)
			}
			if len(p3.Changes) != 0 || p3.RebootPending {
				t.Errorf("after the reboot: changes %v, reboot pending %v (%s)", p3.Changes, p3.RebootPending, p3.Message)
			}
		})
	}
}

var _ = engine.StepGrub

// Debian's grub-mkconfig sources /etc/default/grub.d/*.cfg, EL's does not:
// the file edited is the one that decides the value on that flavour.
func TestStepDropinsPerFlavour(t *testing.T) {
	for _, tc := range []struct{ fixture, want string }{
		{"grub-ubuntu2204", "/etc/default/grub.d/60-serial.cfg:1"},
		{"grub-centos7", "/etc/default/grub:6"},
	} {
		h := fixture.Host(t, tc.fixture)
		os.MkdirAll(h.Path("/etc/default/grub.d"), 0o755)
		writeFile(t, h, "/etc/default/grub.d/60-serial.cfg", "GRUB_CMDLINE_LINUX=\"console=ttyS0,115200\"\n")
		p, err := NewStep().Check(context.Background(), newEnv(h, runnertest.New(t).Tools("update-grub"), nil))
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Changes) == 0 || p.Changes[0].String() != tc.want {
			t.Errorf("%s: changes %+v, want %s first", tc.fixture, p.Changes, tc.want)
		}
	}
}

// An AMD RHEL 9 host with grubby: iommu=pt added, amd_iommu=on taken away.
func TestStepGrubbyAMD(t *testing.T) {
	h := fixture.Host(t, "grub-rhel9")
	writeFile(t, h, ProcCPUInfo, "processor\t: 0\nvendor_id\t: AuthenticAMD\n")
	replaceIn(t, h, rhel9Entry, "rhgb quiet", "rhgb quiet amd_iommu=on")
	f := runnertest.New(t).Tools("grubby")
	f.Expect(runnertest.Call{Argv: []string{"grubby", "--update-kernel=ALL", "--args=iommu=pt", "--remove-args=amd_iommu=on"},
		Do: fakeGrubby(t, h, "", []string{"iommu=pt"}, []string{"amd_iommu=on"})})
	checkApply(t, newEnv(h, f, nil))
	if got := strings.Join(shValue(t, h, CmdlineVar), " "); !strings.HasSuffix(got, "rhgb quiet iommu=pt") {
		t.Errorf("/bin/sh reads %q", got)
	}
}

// A memtest86+ entry in grub.cfg takes no arguments and does not make every
// run regenerate.
func TestGrubCfgIgnoresMemtest(t *testing.T) {
	h := fixture.Host(t, "grub-debian12")
	cfg := "menuentry 'Debian' {\n\tlinux\t/boot/vmlinuz-6.1.0-13-amd64 root=UUID=x ro iommu=pt quiet\n}\nmenuentry 'Memory test (memtest86+x64.bin)' {\n\tlinux16\t/boot/memtest86+x64.bin\n}\n"
	writeFile(t, h, "/boot/grub/grub.cfg", cfg)
	if !grubCfgHolds(h, "/boot/grub/grub.cfg", []string{"iommu=pt"}, nil) {
		t.Error("memtest's line counted")
	}
	writeFile(t, h, "/boot/grub/grub.cfg", strings.Replace(cfg, "iommu=pt ", "", 1))
	if grubCfgHolds(h, "/boot/grub/grub.cfg", []string{"iommu=pt"}, nil) {
		t.Error("a kernel line without iommu=pt passed")
	}
}
