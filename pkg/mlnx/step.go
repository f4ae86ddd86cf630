package mlnx

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/host"
)

// ErrLockdown is a firmware change refused because the kernel is locked down.
var ErrLockdown = errors.New("kernel lockdown forbids changing the NIC firmware settings")

// Step is the setup step "mlnx": SR-IOV in the firmware of Mellanox cards,
// and MLNX_OFED from a folder the user unpacked.
type Step struct {
	last *planData // what Apply did, for Verify
}

// NewStep returns the mlnx step.
func NewStep() *Step { return &Step{} }

// Name is engine.StepMlnx.
func (*Step) Name() string { return engine.StepMlnx }

// cardPlan is what the step does to one card.
type cardPlan struct {
	Card   Card
	Dev    string // what -d gets: /dev/mst/... when mst has it, else the PCI address
	Want   int    // VFs the card must allow
	Before FWState
	Set    int  // NUM_OF_VFS to set (with SRIOV_EN=1); 0: no set
	Reset  bool // apply it now with the firmware reset tool
	Reboot bool // takes effect only after a reboot
}

type planData struct {
	Tools    Tools
	MSTStart bool
	Cards    []cardPlan
	OFED     *ofedPlan
}

// MaxVFs is the most VFs ConnectX-4 and later firmware takes in NUM_OF_VFS
// (NVIDIA: "up to 63/127 virtual instances ... depending on the firmware").
const MaxVFs = 127

// Check reads the firmware settings and says what would change.
func (s *Step) Check(ctx context.Context, env *engine.Env) (*engine.Plan, error) {
	sp := env.Spec
	wantFW, wantOFED := sp.VFs > 0, sp.OFEDDir != ""
	if !wantFW && !wantOFED {
		if sp.VFs == 0 {
			return &engine.Plan{Skip: "--vfs 0: no firmware change needed"}, nil
		}
		return &engine.Plan{Skip: "not asked for (--vfs, --ofed-dir)"}, nil
	}
	cards, err := Discover(env.Host)
	if err != nil {
		return nil, err
	}
	if len(cards) == 0 {
		return &engine.Plan{Skip: "no Mellanox NIC (PCI vendor 0x15b3 with a network interface) on this host"}, nil
	}
	card, chosen, skip, err := selectCard(env, cards, sp.PF)
	if err != nil || skip != "" {
		return &engine.Plan{Skip: skip}, err
	}
	if wantFW && sp.VFs > MaxVFs {
		return nil, engine.BadInput("--vfs %d: ConnectX firmware allows at most %d VFs per PF (NUM_OF_VFS; some firmware only 63), "+
			"and mlxconfig would refuse %d after the earlier steps changed the host; ask for %d or fewer", sp.VFs, MaxVFs, sp.VFs, MaxVFs)
	}
	d := &planData{}
	plan := &engine.Plan{Data: d}
	var msgs []string
	if wantOFED {
		op, msg, err := checkOFED(ctx, env)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, msg)
		if op != nil {
			d.OFED = op
			plan.Changes = append(plan.Changes, op.changes()...)
			plan.RebootPending = true
		}
	}
	if wantFW {
		t, err := DetectTools(env.Run)
		switch {
		case err != nil && d.OFED != nil:
			msgs = append(msgs, "firmware: no firmware tool yet; MLNX_OFED brings mstflint: run setup again after the reboot")
		case err != nil:
			return nil, err
		default:
			d.Tools = t
			if err := s.checkFirmware(ctx, env, d, plan, card, chosen, &msgs); err != nil {
				return nil, err
			}
		}
	}
	plan.Message = strings.Join(msgs, "; ")
	return plan, nil
}

// selectCard picks the card --pf names, or the only one. chosen is the PF
// --pf names (nil: every PF of the card wants the VFs).
func selectCard(env *engine.Env, cards []Card, pf string) (Card, *PF, string, error) {
	var all []string
	for _, c := range cards {
		for _, p := range c.PFs {
			all = append(all, p.describe())
		}
	}
	if pf == "" {
		if len(cards) > 1 {
			return Card{}, nil, "", engine.BadInput("this host has %d Mellanox cards (%s); say which with --pf IFACE or --pf PCI-ADDRESS",
				len(cards), strings.Join(all, "; "))
		}
		return cards[0], nil, "", nil
	}
	for _, c := range cards {
		for i := range c.PFs {
			if c.PFs[i].matches(pf) {
				return c, &c.PFs[i], "", nil
			}
		}
	}
	h := env.Host
	if (pciTokRe.MatchString(pf) && h.Exists("/sys/bus/pci/devices/"+normPCI(pf))) ||
		(!pciTokRe.MatchString(pf) && h.Exists("/sys/class/net/"+pf)) {
		return Card{}, nil, fmt.Sprintf("--pf %s is not a Mellanox PF", pf), nil
	}
	return Card{}, nil, "", engine.BadInput("--pf %q: no such interface or PCI device; the Mellanox PFs are: %s", pf, strings.Join(all, "; "))
}

func (s *Step) checkFirmware(ctx context.Context, env *engine.Env, d *planData, plan *engine.Plan, card Card, chosen *PF, msgs *[]string) error {
	t := d.Tools
	sp := env.Spec
	first := card.First()
	cp := cardPlan{Card: card, Dev: first.PCI, Want: sp.VFs}
	// Firmware values are per card: keep room for VFs the other port has.
	if chosen != nil {
		for _, p := range card.PFs {
			if p.PCI != chosen.PCI && p.NumVFs > cp.Want {
				cp.Want = p.NumVFs
			}
		}
	}
	mstEmpty := false
	if t.MFT() && t.MST != "" {
		dev, empty, err := mstDevice(ctx, env, first.PCI)
		if err != nil {
			return err
		}
		mstEmpty = empty
		if dev != "" {
			cp.Dev = dev
		}
	}
	cfg, err := queryConfig(ctx, env, t, cp.Dev)
	if err != nil {
		return err
	}
	st, err := firmwareState(cfg, cp.Dev, first)
	if err != nil {
		return err
	}
	cp.Before = st
	curOK, nextOK := st.Satisfies(cp.Want)
	if !nextOK {
		cp.Set = max(cp.Want, st.NextVFs)
	}
	if !curOK {
		cp.Reboot = true
		cp.Reset = sp.FWReset
	}
	where := fmt.Sprintf("firmware of %s", card.Slot)
	if m := first.Model(); m != "" {
		where = fmt.Sprintf("firmware of the %s at %s", m, card.Slot)
	}
	switch {
	case curOK && nextOK:
		*msgs = append(*msgs, fmt.Sprintf("%s allows %d VFs (%s)", where, cp.Want, st.render(true)))
	case curOK:
		*msgs = append(*msgs, fmt.Sprintf("%s allows %d VFs now but not after the next boot (%s): set it, no reboot", where, cp.Want, st.render(false)))
	case nextOK && !cp.Reset:
		*msgs = append(*msgs, fmt.Sprintf("%s is set for the next boot (%s) but still runs %s: reboot", where, st.render(false), st.render(true)))
	case nextOK:
		*msgs = append(*msgs, fmt.Sprintf("%s is set for the next boot (%s): reset the firmware to use it now", where, st.render(false)))
	default:
		how := "a firmware change and a reboot"
		if cp.Reset {
			how = "a firmware change and a firmware reset"
		}
		*msgs = append(*msgs, fmt.Sprintf("%s: SR-IOV for %d VFs needs %s (now %s)", where, cp.Want, how, st.render(true)))
	}
	if cp.Reset && t.Reset == "" {
		return fmt.Errorf("--fw-reset: %s has no firmware reset tool (mlxfwreset or mstfwreset); install it, or drop --fw-reset and reboot", t.Suite)
	}
	if cp.Set > 0 || cp.Reset {
		if mode := Lockdown(env.Host); lockedDown(mode) {
			return fmt.Errorf("%w: %s shows [%s], so the kernel refuses the raw PCI access %s needs; "+
				"make the change where lockdown is off (boot with lockdown=none, or with Secure Boot disabled), "+
				"or in the card's UEFI setup (HII) menu, then run setup again", ErrLockdown, LockdownPath, mode, t.Config)
		}
	}
	if (cp.Set > 0 || cp.Reset) && mstEmpty {
		d.MSTStart = true
		mst := engine.CommandChange("mst", "start")
		mst.Before, mst.After = "/dev/mst is empty", "MST devices in /dev/mst"
		plan.Changes = append(plan.Changes, mst)
	}
	if cp.Set > 0 {
		plan.Changes = append(plan.Changes, engine.Change{
			Kind:   engine.KindCommand,
			Argv:   t.SetArgv(cp.Dev, cp.Set),
			Before: st.render(false) + " (next boot)",
			After:  fmt.Sprintf("SRIOV_EN=True(1) NUM_OF_VFS=%d (next boot)", cp.Set),
		})
	}
	if cp.Reset {
		plan.Changes = append(plan.Changes, engine.Change{
			Kind:   engine.KindCommand,
			Argv:   t.ResetArgv(cp.Dev),
			Before: st.render(true) + " (current)",
			After:  fmt.Sprintf("SRIOV_EN=True(1) NUM_OF_VFS=%d (current)", max(cp.Set, st.NextVFs)),
		})
	}
	if cp.Reboot && !cp.Reset {
		plan.RebootPending = true
	}
	d.Cards = append(d.Cards, cp)
	return nil
}

// mstDevice finds the /dev/mst device of a PCI function from `mst status -v`.
// empty reports an empty (or missing) /dev/mst: mst is not started.
func mstDevice(ctx context.Context, env *engine.Env, pci string) (dev string, empty bool, err error) {
	ents, _ := env.Host.ReadDir("/dev/mst")
	if len(ents) == 0 {
		return "", true, nil
	}
	out, err := env.Run.Run(ctx, "mst", "status", "-v")
	if err != nil {
		return "", false, fmt.Errorf("listing the MST devices: %w", err)
	}
	devs, err := ParseMSTStatus(strings.NewReader(string(out)))
	if err != nil {
		return "", false, err
	}
	for _, d := range devs {
		if d.PCI == pci {
			return d.Path, false, nil
		}
	}
	return "", false, nil
}

// Apply runs the planned commands.
func (s *Step) Apply(ctx context.Context, env *engine.Env, p *engine.Plan) (bool, error) {
	d, ok := p.Data.(*planData)
	if !ok {
		return false, errors.New("mlnx: apply without a plan from check")
	}
	s.last = d
	reboot := false
	if d.OFED != nil {
		if err := env.Txn.RecordLive(host.Live{Path: "MLNX_OFED", Before: "not installed by photonctl", After: "installed",
			How: "uninstall it with the ofed_uninstall.sh of MLNX_OFED (/usr/sbin/ofed_uninstall.sh), then reboot"}); err != nil {
			return false, err
		}
		if err := d.OFED.apply(ctx, env); err != nil {
			return false, err
		}
		reboot = true
	}
	if d.MSTStart {
		if _, err := env.Run.Run(ctx, "mst", "start"); err != nil {
			return reboot, fmt.Errorf("starting MST: %w", err)
		}
	}
	t := d.Tools
	for _, cp := range d.Cards {
		if cp.Set > 0 {
			if err := env.Txn.RecordLive(host.Live{Path: "firmware of " + cp.Card.Slot, Before: "as it was (see the plan)", After: fmt.Sprintf("SRIOV_EN=1 NUM_OF_VFS=%d", cp.Set),
				How: "set the old values back with " + t.SetArgv(cp.Dev, cp.Set)[0] + " -d " + cp.Dev + " set ..., then reboot"}); err != nil {
				return reboot, err
			}
			env.Progressf("mlnx: setting SRIOV_EN=1 NUM_OF_VFS=%d in the firmware of %s", cp.Set, cp.Card.Slot)
			if _, err := env.Run.Run(ctx, t.SetArgv(cp.Dev, cp.Set)...); err != nil {
				return reboot, fmt.Errorf("setting the firmware of %s: %w", cp.Card.Slot, err)
			}
		}
		if cp.Reset {
			env.Progressf("mlnx: resetting the firmware of %s (its links go down for a while)", cp.Card.Slot)
			if _, err := env.Run.Run(ctx, t.ResetArgv(cp.Dev)...); err != nil {
				return reboot, fmt.Errorf("the firmware of %s is set for the next boot, but resetting it failed (reboot instead): %w", cp.Card.Slot, err)
			}
		} else if cp.Reboot {
			reboot = true
		}
	}
	return reboot, nil
}

// Owes says what applying p leaves to do: the reboot that loads a new
// driver stack or firmware, unless the firmware is reset in place.
func (s *Step) Owes(env *engine.Env, p *engine.Plan) engine.Owed {
	d, ok := p.Data.(*planData)
	if !ok {
		return engine.Owed{Reboot: true}
	}
	reboot := d.OFED != nil
	for _, cp := range d.Cards {
		reboot = reboot || cp.Set > 0 && !cp.Reset || cp.Reboot
	}
	return engine.Owed{Reboot: reboot}
}

// Verify reads the firmware back: the next-boot values must allow the VFs,
// and after a firmware reset the current ones too.
func (s *Step) Verify(ctx context.Context, env *engine.Env) error {
	d := s.last
	if d == nil {
		return nil
	}
	if d.OFED != nil {
		if err := d.OFED.verify(ctx, env); err != nil {
			return err
		}
	}
	for _, cp := range d.Cards {
		if cp.Set == 0 && !cp.Reset {
			continue
		}
		cfg, err := queryConfig(ctx, env, d.Tools, cp.Dev)
		if err != nil {
			return err
		}
		st, err := firmwareState(cfg, cp.Dev, cp.Card.First())
		if err != nil {
			return err
		}
		cur, next := st.Satisfies(cp.Want)
		if !next {
			return fmt.Errorf("%s still reads %s for the next boot after the set; want SR-IOV with %d VFs", cp.Dev, st.render(false), cp.Want)
		}
		if cp.Reset && !cur && !st.CurFromSysfs {
			return fmt.Errorf("%s still runs %s after the firmware reset; reboot to apply it", cp.Dev, st.render(true))
		}
	}
	return nil
}
