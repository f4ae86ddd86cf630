package main

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/runner"
	"github.com/photonctl/photonctl/pkg/runner/runnertest"
)

// The grub step through the CLI on the CentOS 7 fixture: --dry-run shows the
// exact line, setup exits 3 (reboot), then 0 once /proc/cmdline has the
// arguments, and rollback restores /etc/default/grub.
func TestSetupGrubCentOS7(t *testing.T) {
	h := fixture.Host(t, "grub-centos7")
	orig, _ := h.ReadFile("/etc/default/grub")
	fake := runnertest.New(t)
	fake.Expect(runnertest.Call{Argv: []string{"grub2-mkconfig", "-o", "/boot/grub2/grub.cfg"}, Do: func() {
		os.WriteFile(h.Path("/boot/grub2/grub.cfg"), []byte("menuentry 'CentOS' {\n\tlinux16 /vmlinuz-3.10.0-1160.el7.x86_64 root=/dev/mapper/centos-root ro crashkernel=auto rd.lvm.lv=centos/root rd.lvm.lv=centos/swap rhgb quiet intel_iommu=on iommu=pt\n}\n"), 0o644)
	}})
	cli := func(args ...string) result {
		var out, errb bytes.Buffer
		g := &globalOptions{In: strings.NewReader(""), Out: &out, Err: &errb,
			newRunner: func(string) runner.Runner { return fake }, isTerminal: func() bool { return false }}
		code := run(g, append([]string{"--root", h.Root()}, args...))
		return result{code, out.String(), errb.String()}
	}
	r := cli("setup", "--only", "grub", "--dry-run", "-v")
	if r.code != 0 || !strings.Contains(r.out, `GRUB_CMDLINE_LINUX="crashkernel=auto rd.lvm.lv=centos/root rd.lvm.lv=centos/swap rhgb quiet intel_iommu=on iommu=pt"`) ||
		!strings.Contains(r.out, "grub2-mkconfig -o /boot/grub2/grub.cfg") {
		t.Fatalf("dry run: %d\n%s%s", r.code, r.out, r.err)
	}
	r = cli("setup", "--only", "grub", "--yes")
	if r.code != 3 || !strings.Contains(r.out, "reboot-required") {
		t.Fatalf("setup: exit %d, want 3\n%s%s", r.code, r.out, r.err)
	}
	id := regexp.MustCompile(`rollback --id (\S+)`).FindStringSubmatch(r.out)
	if id == nil {
		t.Fatalf("no backup id in\n%s", r.out)
	}
	if r = cli("setup", "--only", "grub", "--yes"); r.code != 3 {
		t.Fatalf("second setup: exit %d, want 3\n%s%s", r.code, r.out, r.err)
	}
	os.WriteFile(h.Path("/proc/sys/kernel/random/boot_id"), []byte("11111111-2222-4333-8444-555555555555\n"), 0o644)
	os.WriteFile(h.Path("/proc/cmdline"), []byte("BOOT_IMAGE=/vmlinuz-3.10.0-1160.el7.x86_64 root=/dev/mapper/centos-root ro crashkernel=auto rd.lvm.lv=centos/root rd.lvm.lv=centos/swap rhgb quiet intel_iommu=on iommu=pt\n"), 0o644)
	if r = cli("setup", "--only", "grub", "--yes"); r.code != 0 || !regexp.MustCompile(`grub\s+ok`).MatchString(r.out) {
		t.Fatalf("after the reboot: exit %d, want 0 and grub ok\n%s%s", r.code, r.out, r.err)
	}
	if r = cli("rollback", "--id", id[1]); r.code != 0 {
		t.Fatalf("rollback: %d %s %s", r.code, r.out, r.err)
	}
	if b, _ := h.ReadFile("/etc/default/grub"); !bytes.Equal(b, orig) {
		t.Errorf("rollback left /etc/default/grub:\n%s", b)
	}
}
