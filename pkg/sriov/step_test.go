package sriov

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/golden"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/runner/runnertest"
	"github.com/photonctl/photonctl/pkg/spec"
)

type testbed struct {
	h    *host.Host
	k    *kernel
	run  *runnertest.Fake
	env  *engine.Env
	prog *bytes.Buffer
}

func newBed(t *testing.T, fix string, mod func(*spec.Spec)) *testbed {
	t.Helper()
	h := fixture.Host(t, fix)
	sp := spec.Default()
	mod(&sp)
	if err := sp.Validate(); err != nil {
		t.Fatal(err)
	}
	b := &testbed{h: h, k: newKernel(t, h), run: runnertest.New(t), prog: &bytes.Buffer{}}
	b.env = &engine.Env{Host: h, Run: b.run, Spec: sp, Txn: h.Begin("", "test"), Progress: b.prog}
	return b
}

// expectEnable registers `systemctl enable UNIT` and plays it (the link it makes).
func (b *testbed) expectEnable(t *testing.T, pf string) {
	b.run.Expect(runnertest.Call{Argv: []string{"systemctl", "enable", UnitName(pf)}, Do: func() {
		if err := os.MkdirAll(b.h.Path(UnitWantsDir), 0o755); err != nil {
			t.Error(err)
		}
		if err := os.Symlink("../"+UnitName(pf), b.h.Path(UnitWantsDir, UnitName(pf))); err != nil {
			t.Error(err)
		}
	}})
}

func (b *testbed) checkApply(t *testing.T, s *Step) (*engine.Plan, error) {
	t.Helper()
	ctx := context.Background()
	p, err := s.Check(ctx, b.env)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	_, err = s.Apply(ctx, b.env, p)
	return p, err
}

func paths(p *engine.Plan) []string {
	var out []string
	for _, c := range p.Changes {
		out = append(out, c.String())
	}
	return out
}

func TestCreateVFsCX4(t *testing.T) {
	b := newBed(t, "sriov-cx4lx-on", func(s *spec.Spec) { s.VFs, s.PF = 4, "enp3s0f0" })
	b.expectEnable(t, "0000:03:00.0")
	s := b.k.step()
	p, err := b.checkApply(t, s)
	if err != nil {
		t.Fatal(err)
	}
	wantPlan := []string{PCIDevices + "/0000:03:00.0/sriov_numvfs", UnitPath("0000:03:00.0"), "run: systemctl enable " + UnitName("0000:03:00.0")}
	if got := paths(p); strings.Join(got, "|") != strings.Join(wantPlan, "|") {
		t.Errorf("plan %q, want %q", got, wantPlan)
	}
	if c := p.Changes[0]; c.Before != "0" || c.After != "0, then 4" {
		t.Errorf("numvfs change %+v", c)
	}
	attr := PCIDevices + "/0000:03:00.0/sriov_numvfs"
	if got := strings.Join(b.k.Writes(), " "); got != attr+"=0 "+attr+"=4" {
		t.Errorf("writes %s, want 0 then 4", got)
	}
	pf, err := DiscoverPF(b.h, "0000:03:00.0")
	if err != nil {
		t.Fatal(err)
	}
	if pf.NumVFs != 4 || len(pf.VFs) != 4 || pf.VFs[3].Addr != "0000:03:00.5" || pf.VFs[3].Netdevs[0] != "enp3s0f0v3" {
		t.Errorf("VFs after apply: %+v", pf.VFs)
	}
	if !strings.Contains(b.prog.String(), "sriov: waiting for the VFs of enp3s0f0: ") {
		t.Errorf("no progress lines: %q", b.prog.String())
	}
	unit, err := b.h.ReadFile(UnitPath("0000:03:00.0"))
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "testdata/unit-cx4lx.golden", unit)
	if err := s.Verify(context.Background(), b.env); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	p, err = s.Check(context.Background(), b.env)
	if err != nil || !p.Done() {
		t.Fatalf("second Check: %v %+v", err, p)
	}
	if p.Message != "enp3s0f0 has 4 VFs (of 8), as asked" {
		t.Errorf("message %q", p.Message)
	}
}

func TestWriteErrnos(t *testing.T) {
	tests := []struct {
		errno    syscall.Errno
		lockdown string
		sentinel error
		msg      []string
	}{
		{syscall.ENOMEM, "", ErrNoMMIO, []string{"MMIO", "photonctl setup --pci-realloc", `writing "4" to /sys/bus/pci/devices/0000:03:00.0/sriov_numvfs: cannot allocate memory`}},
		{syscall.ENOSPC, "", ErrNoMSIX, []string{"MSI-X", "fewer VFs"}},
		{syscall.EBUSY, "", ErrVFsBusy, []string{"in use", "lsof /dev/vfio"}},
		{syscall.EINVAL, "none [integrity] confidentiality", ErrLockdown, []string{"[integrity]", "lockdown"}},
		{syscall.EPERM, "none integrity [confidentiality]", ErrLockdown, []string{"[confidentiality]"}},
		{syscall.EPERM, "", nil, []string{"as root"}},
		{syscall.EINVAL, "", nil, []string{"refused 4 VFs", "dmesg"}},
	}
	for _, tc := range tests {
		t.Run(tc.errno.Error()+" "+tc.lockdown, func(t *testing.T) {
			b := newBed(t, "sriov-cx4lx-on", func(s *spec.Spec) { s.VFs, s.PF = 4, "enp3s0f0" })
			if tc.lockdown != "" {
				if err := os.WriteFile(b.h.Path(LockdownPath), []byte(tc.lockdown+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			b.k.fail = tc.errno
			_, err := b.checkApply(t, b.k.step())
			if err == nil {
				t.Fatal("Apply succeeded")
			}
			if !errors.Is(err, tc.errno) {
				t.Errorf("the errno is lost: %v", err)
			}
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Errorf("want %v: %v", tc.sentinel, err)
			}
			for _, m := range tc.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q lacks %q", err, m)
				}
			}
			if b.h.Exists(UnitPath("0000:03:00.0")) {
				t.Error("the unit was installed although the VFs failed")
			}
		})
	}
}

func TestVFsNeverAppear(t *testing.T) {
	for _, tc := range []struct {
		name            string
		never, noNetdev bool
		state           string
	}{
		{"no links", true, false, "0/4 VFs, 0/4 with a netdev"},
		{"no netdevs", false, true, "4/4 VFs, 0/4 with a netdev"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBed(t, "sriov-cx4lx-on", func(s *spec.Spec) { s.VFs, s.PF = 4, "enp3s0f1" })
			b.k.never, b.k.noNetdev, b.k.delay = tc.never, tc.noNetdev, time.Millisecond
			s := b.k.step()
			s.WaitTimeout = 300 * time.Millisecond
			_, err := b.checkApply(t, s)
			if !errors.Is(err, ErrVFTimeout) {
				t.Fatalf("want ErrVFTimeout, got %v", err)
			}
			if !strings.Contains(err.Error(), tc.state) || !strings.Contains(err.Error(), "dmesg") {
				t.Errorf("error %q lacks %q", err, tc.state)
			}
			if !strings.Contains(b.prog.String(), "sriov: waiting for the VFs of enp3s0f1: ") {
				t.Errorf("no progress: %q", b.prog.String())
			}
		})
	}
}

// A driver that never finishes the write: sriov_numvfs is a FIFO nobody
// reads, so the real host.WriteSysfs blocks in open and must time out.
func TestWriteTimesOut(t *testing.T) {
	b := newBed(t, "sriov-cx4lx-on", func(s *spec.Spec) { s.VFs, s.PF = 4, "enp3s0f0" })
	attr := b.h.Path(PCIDevices, "0000:03:00.0", "sriov_numvfs")
	if err := os.Remove(attr); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(attr, 0o644); err != nil {
		t.Skipf("needs mkfifo: %v", err)
	}
	t.Cleanup(func() {
		// Let the writer left behind finish: open the FIFO for reading.
		if f, err := os.OpenFile(attr, os.O_RDONLY|unix.O_NONBLOCK, 0); err == nil {
			time.Sleep(50 * time.Millisecond)
			f.Close()
		}
	})
	s := NewStep()
	s.WriteTimeout = 100 * time.Millisecond
	// Check reads sriov_numvfs, which a FIFO does not answer: plan on the
	// real file's value, then apply with the FIFO in place.
	d := &plan{PF: PF{Addr: "0000:03:00.0", NumVFs: 0, TotalVFs: 8, Netdevs: []Netdev{{Name: "enp3s0f0"}}}, N: 4, Create: true}
	_, err := s.Apply(context.Background(), b.env, &engine.Plan{Data: []*plan{d}, Changes: []engine.Change{{Path: attr}}})
	if !errors.Is(err, host.ErrTimeout) {
		t.Fatalf("want host.ErrTimeout, got %v", err)
	}
	if !strings.Contains(err.Error(), `writing "0"`) || !strings.Contains(err.Error(), "stuck") {
		t.Errorf("error %q", err)
	}
}

func TestKeepExistingVFs(t *testing.T) {
	b := newBed(t, "sriov-x710-vfs", func(s *spec.Spec) { s.VFs = 4 })
	b.expectEnable(t, "0000:18:00.0")
	p, err := b.checkApply(t, b.k.step())
	if err != nil {
		t.Fatal(err)
	}
	if got := paths(p); len(got) != 2 || got[0] != UnitPath("0000:18:00.0") {
		t.Errorf("only the unit should change: %q", got)
	}
	if w := b.k.Writes(); len(w) != 0 {
		t.Errorf("writes to an X710 that has its 4 VFs: %q", w)
	}
}

func TestChangeAndRemoveVFs(t *testing.T) {
	b := newBed(t, "sriov-x710-vfs", func(s *spec.Spec) { s.VFs = 2 })
	b.expectEnable(t, "0000:18:00.0")
	s := b.k.step()
	if _, err := b.checkApply(t, s); err != nil {
		t.Fatal(err)
	}
	attr := PCIDevices + "/0000:18:00.0/sriov_numvfs"
	if got := strings.Join(b.k.Writes(), " "); got != attr+"=0 "+attr+"=2" {
		t.Errorf("writes %s", got)
	}
	if err := s.Verify(context.Background(), b.env); err != nil {
		t.Fatal(err)
	}

	// --vfs 0 removes the VFs, disables and removes the unit.
	b.env.Spec.VFs = 0
	b.run.Expect(runnertest.Call{Argv: []string{"systemctl", "disable", UnitName("0000:18:00.0")}, Do: func() {
		os.Remove(b.h.Path(UnitWantsDir, UnitName("0000:18:00.0")))
	}})
	p, err := b.checkApply(t, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Changes) != 3 {
		t.Errorf("plan %q", paths(p))
	}
	if got := b.k.Writes(); got[len(got)-1] != attr+"=0" || len(got) != 3 {
		t.Errorf("writes %q", got)
	}
	if b.h.Exists(UnitPath("0000:18:00.0")) {
		t.Error("unit still there")
	}
	if err := s.Verify(context.Background(), b.env); err != nil {
		t.Fatal(err)
	}
}

func TestMellanoxFirmwareOff(t *testing.T) {
	b := newBed(t, "sriov-cx4lx-off", func(s *spec.Spec) { s.VFs, s.PF = 4, "enp3s0f0" })
	p, err := b.checkApply(t, b.k.step())
	if !strings.Contains(p.Message, "mlnx firmware change") {
		t.Errorf("plan message %q", p.Message)
	}
	if !errors.Is(err, ErrNoSRIOV) || engine.IsBadInput(err) {
		t.Fatalf("want ErrNoSRIOV (host state, not input): %v", err)
	}
	for _, m := range []string{"SR-IOV is off in its firmware", "photonctl setup --only mlnx --vfs 4", "reboot"} {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("%q lacks %q", err, m)
		}
	}
	if len(b.k.Writes()) != 0 {
		t.Errorf("writes: %q", b.k.Writes())
	}

	// More VFs than the firmware allows: also the mlnx step's job.
	b = newBed(t, "sriov-cx4lx-on", func(s *spec.Spec) { s.VFs, s.PF = 16, "enp3s0f0" })
	_, err = b.checkApply(t, b.k.step())
	if err == nil || !strings.Contains(err.Error(), "its firmware allows 8 VFs") {
		t.Errorf("16 VFs on an 8-VF firmware: %v", err)
	}
}

func TestNoTotalVFs(t *testing.T) {
	b := newBed(t, "sriov-no-totalvfs", func(s *spec.Spec) { s.VFs = 4 })
	_, err := b.k.step().Check(context.Background(), b.env)
	if !errors.Is(err, ErrNoSRIOV) || engine.IsBadInput(err) {
		t.Fatalf("%v", err)
	}
	if !strings.Contains(err.Error(), "BIOS") {
		t.Errorf("%v", err)
	}
}

func TestNotAskedFor(t *testing.T) {
	b := newBed(t, "sriov-x710-vfs", func(s *spec.Spec) {})
	p, err := b.k.step().Check(context.Background(), b.env)
	if err != nil || p.Skip != "not asked for (--vfs)" {
		t.Fatalf("%+v %v", p, err)
	}
	b.env.Spec.VFTrust = true
	if _, err := b.k.step().Check(context.Background(), b.env); !engine.IsBadInput(err) {
		t.Errorf("--vf-trust without --vfs: %v", err)
	}
}

// Bad input runs through the engine: exit-2 errors and nothing written, not
// even a backup.
func TestBadInputChangesNothing(t *testing.T) {
	tests := []struct {
		name string
		fix  string
		mod  func(*spec.Spec)
		msg  string
	}{
		{"too many VFs", "sriov-x710-vfs", func(s *spec.Spec) { s.VFs = 999 }, "allows at most 64 VFs"},
		{"non-SR-IOV PF", "sriov-x710-vfs", func(s *spec.Spec) { s.VFs, s.PF = 2, "eno1" }, "cannot have VFs"},
		{"missing PF", "sriov-x710-vfs", func(s *spec.Spec) { s.VFs, s.PF = 2, "eth7" }, "no interface of that name"},
		{"PCI typo", "sriov-x710-vfs", func(s *spec.Spec) { s.VFs, s.PF = 2, "0000:81:00.0" }, "no network function at PCI address"},
		{"vfio on mlx5, firmware off", "sriov-cx4lx-off", func(s *spec.Spec) { s.VFs, s.PF, s.BindVFIO = 2, "enp3s0f0", true }, "bifurcated"},
		{"vfio on mlx5", "sriov-cx4lx-on", func(s *spec.Spec) { s.VFs, s.PF, s.BindVFIO = 2, "enp3s0f0", true }, "never binds"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBed(t, tc.fix, tc.mod)
			before := snapshot(t, b.h)
			s := b.k.step()
			_, err := engine.Run(context.Background(), b.env, []engine.Step{s}, []engine.Step{s}, engine.Options{})
			if !engine.IsBadInput(err) {
				t.Fatalf("want bad input, got %v", err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("%q lacks %q", err, tc.msg)
			}
			if len(b.k.Writes()) != 0 {
				t.Errorf("writes %q", b.k.Writes())
			}
			if after := snapshot(t, b.h); after != before {
				t.Errorf("the tree changed:\n%s\n---\n%s", before, after)
			}
		})
	}
}

// snapshot lists every path under the root with its mode and content,
// except the lock the engine takes (and its folders).
func snapshot(t *testing.T, h *host.Host) string {
	var b strings.Builder
	err := walk(h.Root(), func(p string, fi os.FileInfo) {
		if r := h.Rel(p); r == "/var" || r == "/var/lib" || r == "/var/lib/photonctl" || r == "/var/lib/photonctl/setup.lock" {
			return
		}
		b.WriteString(h.Rel(p))
		if fi.Mode().IsRegular() {
			b.WriteString(" " + fi.Mode().String())
			data, _ := os.ReadFile(p)
			b.Write(data)
		}
		b.WriteByte('\n')
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// Without --pf, the two ports of one ConnectX both get the VFs (as the mlnx
// step sets the firmware for the card); two separate cards need --pf.
func TestBothPortsOfOneCard(t *testing.T) {
	b := newBed(t, "sriov-cx4lx-on", func(s *spec.Spec) { s.VFs = 2 })
	b.expectEnable(t, "0000:03:00.0")
	b.expectEnable(t, "0000:03:00.1")
	s := b.k.step()
	p, err := b.checkApply(t, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Changes) != 6 || !strings.Contains(p.Message, "enp3s0f0 has 0 VFs, 2 asked") || !strings.Contains(p.Message, "enp3s0f1") {
		t.Errorf("plan %q: %s", paths(p), p.Message)
	}
	if len(b.k.Writes()) != 4 {
		t.Errorf("writes %q", b.k.Writes())
	}
	pf1, _ := DiscoverPF(b.h, "0000:03:00.1")
	if len(pf1.VFs) != 2 || pf1.VFs[1].Addr != "0000:03:01.3" {
		t.Errorf("port 1 VFs %+v", pf1.VFs)
	}
	if err := s.Verify(context.Background(), b.env); err != nil {
		t.Fatal(err)
	}

	pfs, _ := Discover(b.h)
	other := pfs[1]
	other.Addr = "0000:81:00.0"
	_, err = SelectPFs([]PF{pfs[0], other}, "")
	if !engine.IsBadInput(err) || !strings.Contains(err.Error(), "choose one with --pf") {
		t.Errorf("two cards: %v", err)
	}
}
