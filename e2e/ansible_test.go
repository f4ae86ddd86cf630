package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAnsible runs the role (deploy/ansible/roles/photonctl) through
// ansible-playbook against a real guest over SSH, as a fleet would be run.
//
// The machine runs one TCG guest at a time, so the fleet is two inventory
// hosts on the one guest: "good" asks for what scenarioSRIOV asks (4 VFs on
// the igb, one on vfio-pci, 64 hugepages, names kept), "impossible" asks
// for 8 VFs on an igb that has 7. In one play:
//   - run 1: good installs photonctl from the package, reboots once (the
//     IOMMU arguments), converges, and doctor passes but for the software the
//     guest lacks; impossible fails with photonctl's message before its
//     spec is written or setup runs, and the play goes on for good;
//   - run 2: changed=0 on good, no reboot;
//   - run 3, check mode with another page count: the plan, nothing changed.
func TestAnsible(t *testing.T) {
	needs(t)
	ansibleTools(t, "ansible-playbook")
	s := newSuite(t)
	deb := s.deb
	if deb == "" {
		deb = debFromBinary(t, s.bin)
	}
	v := s.bootBare("ansible", "rp2")
	nics, err := v.nics()
	if err != nil {
		v.fatalf("%v", err)
	}
	igb := nics[IGBMAC].Name

	dir := t.TempDir()
	factsDir := filepath.Join(dir, "facts")
	if err := os.MkdirAll(factsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	ssh := map[string]any{
		"ansible_host":                 "127.0.0.1",
		"ansible_port":                 v.g.Port,
		"ansible_user":                 "root",
		"ansible_ssh_private_key_file": v.g.Key,
		"ansible_ssh_common_args":      "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
		"ansible_python_interpreter":   "/usr/bin/python3",
	}
	hostVars := func(more map[string]any) map[string]any {
		m := map[string]any{
			"photonctl_package":        deb,
			"photonctl_pf":             igb,
			"photonctl_vfs":            4,
			"photonctl_bind_vfio":      true,
			"photonctl_hugepages":      64,
			"photonctl_names":          "keep",
			"photonctl_reboot_timeout": 900,
			"photonctl_doctor_ignore":  expectedDoctorFails,
		}
		for k, x := range ssh {
			m[k] = x
		}
		for k, x := range more {
			m[k] = x
		}
		return m
	}
	p := newTestPlay(t, dir, map[string]map[string]any{
		"good": hostVars(nil),
		// The same guest: dpkg installs one package at a time, so this entry
		// leaves installing to good (the play installs it first, in step).
		"impossible": hostVars(map[string]any{
			"photonctl_vfs":         8,
			"photonctl_install":     false,
			"photonctl_config_path": "/etc/photonctl/impossible.yaml",
		}),
	})
	p.Env = append(p.Env, "ANSIBLE_TIMEOUT=60")
	facts := []string{"-e", "test_facts_dir=" + factsDir}

	var boot0 string
	v.phase("ansible 1: install, reboot once, converge, doctor; impossible fails alone", func() error {
		var err error
		if boot0, err = v.g.BootID(); err != nil {
			return err
		}
		r, err := p.Run(45*time.Minute, facts...)
		if err != nil {
			return err
		}
		t.Logf("ansible-playbook, run 1:\n%s", r.Output)
		if err := goodConverged(r, 1); err != nil {
			return err
		}
		if err := impossibleRejected(v, r); err != nil {
			return err
		}
		f, ok := readRoleFacts(t, factsDir, "good")
		if !ok {
			return fmt.Errorf("run 1: good handed back no facts")
		}
		if f.Reboots != 1 {
			return fmt.Errorf("run 1: photonctl_reboots is %d, want 1", f.Reboots)
		}
		if f.Setup.RebootRequired {
			return fmt.Errorf("run 1: setup's last report still asks for a reboot: %+v", f.Setup)
		}
		for _, st := range f.Setup.Steps {
			if st.Status != "ok" && st.Status != "changed" && st.Status != "skipped" {
				return fmt.Errorf("run 1: setup's last report has step %s %s: %s", st.Name, st.Status, st.Message)
			}
		}
		if len(f.Doctor.Checks) == 0 {
			return fmt.Errorf("run 1: photonctl_doctor_report has no checks")
		}
		for _, c := range f.Doctor.Checks {
			if _, ok := expectedDoctorFails[c.ID]; c.Status == "fail" && !ok {
				return fmt.Errorf("run 1: doctor check %s fails (%s) and the host did not fail", c.ID, c.Detail)
			}
		}
		boot1, err := v.g.BootID()
		if err != nil {
			return err
		}
		if boot1 == boot0 {
			return fmt.Errorf("run 1: the guest was not rebooted (boot_id %s)", boot0)
		}
		boot0 = boot1
		if out, err := v.g.Must(time.Minute, "dpkg-query -W -f '${Package} ${Version} ${Status}' photonctl"); err != nil || !strings.Contains(out, "install ok installed") {
			return fmt.Errorf("run 1: photonctl's package is not installed: %q %v", out, err)
		}
		cmdline, err := v.read("/proc/cmdline")
		if err != nil {
			return err
		}
		if miss := missingTokens(cmdline, iommuArgs...); len(miss) > 0 {
			return fmt.Errorf("run 1: /proc/cmdline %q lacks %v", cmdline, miss)
		}
		return v.dataplaneReady(igb)
	})

	v.phase("ansible 2: nothing left to change, no reboot", func() error {
		r, err := p.Run(30*time.Minute, facts...)
		if err != nil {
			return err
		}
		t.Logf("ansible-playbook, run 2:\n%s", r.Output)
		if rc := r.Recap["good"]; rc.Changed != 0 || rc.Failed != 0 || rc.Unreachable != 0 {
			return fmt.Errorf("run 2: good's recap %+v, want changed=0 failed=0", rc)
		}
		if n := count(r.Outcomes("good", "Reboot, as photonctl setup asks (exit 3)"), "changed"); n != 0 {
			return fmt.Errorf("run 2: good was rebooted %d times", n)
		}
		if err := impossibleRejected(v, r); err != nil {
			return err
		}
		boot, err := v.g.BootID()
		if err != nil {
			return err
		}
		if boot != boot0 {
			return fmt.Errorf("run 2: the guest rebooted")
		}
		return v.dataplaneReady(igb)
	})

	v.phase("ansible 3: check mode shows the plan and changes nothing", func() error {
		spec0, err := v.read("/etc/photonctl/host.yaml")
		if err != nil {
			return err
		}
		r, err := p.Run(20*time.Minute, append(facts, "--check", "--limit", "good", "-e", "photonctl_hugepages=128")...)
		if err != nil {
			return err
		}
		t.Logf("ansible-playbook --check, run 3:\n%s", r.Output)
		if r.Exit != 0 || r.Recap["good"].Failed != 0 {
			return fmt.Errorf("run 3 (check): exit %d, good %+v", r.Exit, r.Recap["good"])
		}
		if !strings.Contains(r.Output, "hugepages: planned:") || !strings.Contains(r.Output, "want 128") {
			return fmt.Errorf("run 3 (check): no hugepages plan for 128 pages in the output")
		}
		spec1, err := v.read("/etc/photonctl/host.yaml")
		if err != nil {
			return err
		}
		if spec1 != spec0 {
			return fmt.Errorf("run 3 (check): /etc/photonctl/host.yaml changed:\n%s", spec1)
		}
		return v.dataplaneReady(igb)
	})
}

// goodConverged checks run 1's outcome for good: no failure, changes, and
// exactly reboots reboots.
func goodConverged(r *PlayResult, reboots int) error {
	rc, ok := r.Recap["good"]
	if !ok {
		return fmt.Errorf("no recap for good")
	}
	if rc.Failed != 0 || rc.Unreachable != 0 {
		return fmt.Errorf("good failed: %+v: %+v", rc, r.Fatal["good"])
	}
	if rc.Changed == 0 {
		return fmt.Errorf("good changed nothing: %+v", rc)
	}
	if n := count(r.Outcomes("good", "Reboot, as photonctl setup asks (exit 3)"), "changed"); n != reboots {
		return fmt.Errorf("good was rebooted %d times, want %d", n, reboots)
	}
	if got := r.Outcomes("good", "Install the .deb"); count(got, "skipping") == len(got) {
		return fmt.Errorf("the role did not install the .deb on good: %v", got)
	}
	return nil
}

// impossibleRejected checks impossible failed with photonctl's message and
// its spec file was never written.
func impossibleRejected(v *vm, r *PlayResult) error {
	if rc := r.Recap["impossible"]; rc.Failed != 1 || rc.Changed != 0 {
		return fmt.Errorf("impossible's recap %+v, want failed=1 changed=0", rc)
	}
	if r.Exit != 2 {
		return fmt.Errorf("ansible-playbook exit %d, want 2 (impossible fails)", r.Exit)
	}
	fs := r.Fatal["impossible"]
	if len(fs) == 0 {
		return fmt.Errorf("impossible did not fail")
	}
	msg := fs[len(fs)-1].Msg
	for _, w := range []string{"allows at most 7 VFs", "ask for 7 or fewer", "was not written", "setup did not run"} {
		if !strings.Contains(msg, w) {
			return fmt.Errorf("impossible's failure %q lacks %q", msg, w)
		}
	}
	if n := len(r.Outcomes("impossible", "Run photonctl setup")); n != 0 {
		return fmt.Errorf("photonctl setup ran for impossible")
	}
	out, err := v.g.Must(30*time.Second, "test ! -e /etc/photonctl/impossible.yaml && echo absent")
	if err != nil || strings.TrimSpace(out) != "absent" {
		return fmt.Errorf("impossible's spec was written: %q %v", out, err)
	}
	return nil
}

func count(l []string, s string) int {
	n := 0
	for _, x := range l {
		if x == s {
			n++
		}
	}
	return n
}

// debFromBinary packs bin into a .deb with Debian's dpkg-deb, for a run given
// PHOTONCTL_BIN and no PHOTONCTL_DEB: the role installs photonctl from a
// package either way.
func debFromBinary(t *testing.T, bin string) string {
	t.Helper()
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("TestAnsible installs photonctl from a .deb: give PHOTONCTL_DEB, or have dpkg-deb to pack PHOTONCTL_BIN")
	}
	dir := t.TempDir()
	root := filepath.Join(dir, "pkg")
	for _, d := range []string{"DEBIAN", "usr/bin"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "usr/bin/photonctl"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	control := "Package: photonctl\nVersion: 0.0.0~e2e\nArchitecture: amd64\nMaintainer: photonctl e2e suite\n" +
		"Description: photonctl, packed by the e2e suite from PHOTONCTL_BIN\n"
	if err := os.WriteFile(filepath.Join(root, "DEBIAN/control"), []byte(control), 0o644); err != nil {
		t.Fatal(err)
	}
	deb := filepath.Join(dir, "photonctl_0.0.0~e2e_amd64.deb")
	if out, err := exec.Command("dpkg-deb", "--root-owner-group", "--build", root, deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb --build: %v\n%s", err, out)
	}
	return deb
}
