package mlnx

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/runner"
)

// ErrNoSRIOVParam is firmware without SRIOV_EN or NUM_OF_VFS.
var ErrNoSRIOVParam = errors.New("the firmware configuration has no SR-IOV settings")

// FWState is a card's SR-IOV firmware settings.
type FWState struct {
	Device string // what the tool was pointed at
	// Current is what the running firmware uses; Next what it uses after
	// the next reboot (or firmware reset).
	CurEn, NextEn   bool
	CurVFs, NextVFs int
	// CurFromSysfs: the tool printed no Current column, so the current
	// values come from sriov_totalvfs.
	CurFromSysfs bool
	Cfg          *Config
}

// Satisfies reports whether the current and next values allow want VFs.
func (s FWState) Satisfies(want int) (cur, next bool) {
	return s.CurEn && s.CurVFs >= want, s.NextEn && s.NextVFs >= want
}

func (s FWState) render(cur bool) string {
	en, n := s.NextEn, s.NextVFs
	if cur {
		en, n = s.CurEn, s.CurVFs
	}
	b := "False(0)"
	if en {
		b = "True(1)"
	}
	return fmt.Sprintf("SRIOV_EN=%s NUM_OF_VFS=%d", b, n)
}

// queryConfig runs the firmware query on dev and parses it. A tool that
// exits non-zero but prints a table (some TLVs failed) is taken at its word.
func queryConfig(ctx context.Context, env *engine.Env, t Tools, dev string) (*Config, error) {
	argv := t.QueryArgv(dev)
	out, err := env.Run.Run(ctx, argv...)
	cfg, perr := ParseConfig(bytes.NewReader(out))
	switch {
	case perr == nil:
		return cfg, nil
	case errors.Is(perr, ErrDevice):
		return nil, fmt.Errorf("reading the firmware settings of %s (%s): %w; check that the card is there (lspci -d 15b3:) and run as root",
			dev, runner.Quote(argv), perr)
	case err != nil:
		return nil, fmt.Errorf("reading the firmware settings of %s: %w", dev, err)
	default:
		return nil, fmt.Errorf("reading the firmware settings of %s: %s printed %w; it began %q",
			dev, runner.Quote(argv), perr, firstLine(out))
	}
}

// firmwareState reads SRIOV_EN and NUM_OF_VFS from a query. pf is the
// function the query was for (its sriov_totalvfs stands in for a missing
// Current column).
func firmwareState(cfg *Config, dev string, pf PF) (FWState, error) {
	st := FWState{Device: dev, Cfg: cfg}
	en, ok1 := cfg.Param(ParamSRIOVEn)
	n, ok2 := cfg.Param(ParamNumVFs)
	if !ok1 || !ok2 {
		return st, fmt.Errorf("%s: %w (SRIOV_EN and NUM_OF_VFS): this card or its firmware cannot do SR-IOV, or the firmware tool is too old for it; update the tool and the firmware",
			dev, ErrNoSRIOVParam)
	}
	var ok bool
	if st.NextEn, ok = en.Get(ColNext).Bool(); !ok {
		return st, fmt.Errorf("%s: SRIOV_EN next boot value %q is not True/False", dev, en.Get(ColNext).Raw)
	}
	nv, ok := n.Get(ColNext).Int()
	if !ok {
		return st, fmt.Errorf("%s: NUM_OF_VFS next boot value %q is not a number", dev, n.Get(ColNext).Raw)
	}
	st.NextVFs = int(nv)
	ce, okE := en.Get(ColCurrent).Bool()
	cv, okV := n.Get(ColCurrent).Int()
	if okE && okV {
		st.CurEn, st.CurVFs = ce, int(cv)
	} else {
		// No Current column: the kernel shows what the running firmware allows.
		st.CurFromSysfs = true
		st.CurEn, st.CurVFs = pf.TotalVFs > 0, max(pf.TotalVFs, 0)
	}
	return st, nil
}
