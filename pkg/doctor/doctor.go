package doctor

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/photonctl/photonctl/pkg/engine"
)

// Status of one check.
type Status string

const (
	OK   Status = "ok"
	Warn Status = "warn"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Groups, in the order of the procedure.
const (
	GroupKernel     = "kernel"
	GroupSRIOV      = "sriov"
	GroupMlnx       = "mlnx"
	GroupNames      = "names"
	GroupHugepages  = "hugepages"
	GroupDPDK       = "dpdk"
	GroupFstackConf = "fstackconf"
	GroupDataplane  = "dataplane"
)

// GroupOrder is the order groups are reported in.
var GroupOrder = []string{GroupKernel, GroupSRIOV, GroupMlnx, GroupNames, GroupHugepages, GroupDPDK, GroupFstackConf, GroupDataplane}

// GroupTitles are the headings of the text report.
var GroupTitles = map[string]string{
	GroupKernel:     "Kernel & IOMMU",
	GroupSRIOV:      "SR-IOV",
	GroupMlnx:       "Mellanox & OFED",
	GroupNames:      "Interface names",
	GroupHugepages:  "Hugepages",
	GroupDPDK:       "DPDK & F-Stack",
	GroupFstackConf: "f-stack.conf",
	GroupDataplane:  "Dataplane",
}

// Result is one finding.
type Result struct {
	ID     string `json:"id"`
	Group  string `json:"group"`
	Status Status `json:"status"`
	// Detail says what was checked and what was found.
	Detail string `json:"detail"`
	// Fix is a command or an edit; required for warn and fail.
	Fix string `json:"fix,omitempty"`
	// Elapsed is how long the check that gave this result ran (doctor -v).
	Elapsed time.Duration `json:"-"`
}

// Check is one check. Run returns one result or several (one per NUMA node,
// per PF, ...); a result's empty ID and Group are taken from the Check.
type Check struct {
	ID    string
	Group string
	Run   func(ctx context.Context, env *engine.Env) []Result
}

// Provider is a package that has checks.
type Provider interface {
	Checks() []Check
}

// Summary counts results by status.
type Summary struct {
	OK   int `json:"ok"`
	Warn int `json:"warn"`
	Fail int `json:"fail"`
	Skip int `json:"skip"`
}

// Report is doctor's output; its JSON form is schema 1.
type Report struct {
	Schema  int      `json:"schema"`
	Checks  []Result `json:"checks"`
	Summary Summary  `json:"summary"`
}

// Failed reports whether any check failed (doctor exits 1).
func (r *Report) Failed() bool { return r.Summary.Fail > 0 }

// Run runs the checks of the groups asked for (all when groups is empty) in
// group order, and the checks of a group in the order given.
func Run(ctx context.Context, env *engine.Env, checks []Check, groups []string) (*Report, error) {
	want := map[string]bool{}
	for _, g := range groups {
		if _, ok := GroupTitles[g]; !ok {
			return nil, engine.BadInput("unknown group %q; the groups are %s", g, strings.Join(GroupOrder, ", "))
		}
		want[g] = true
	}
	sel := make([]Check, 0, len(checks))
	for _, c := range checks {
		if len(want) == 0 || want[c.Group] {
			sel = append(sel, c)
		}
	}
	sort.SliceStable(sel, func(i, j int) bool { return groupIndex(sel[i].Group) < groupIndex(sel[j].Group) })
	rep := &Report{Schema: 1, Checks: []Result{}}
	for _, c := range sel {
		for _, r := range runOne(ctx, env, c) {
			rep.Checks = append(rep.Checks, r)
			switch r.Status {
			case OK:
				rep.Summary.OK++
			case Warn:
				rep.Summary.Warn++
			case Fail:
				rep.Summary.Fail++
			default:
				rep.Summary.Skip++
			}
		}
	}
	return rep, nil
}

func runOne(ctx context.Context, env *engine.Env, c Check) (out []Result) {
	defer func() {
		if p := recover(); p != nil {
			out = []Result{{ID: c.ID, Group: c.Group, Status: Fail, Detail: fmt.Sprintf("check crashed: %v", p),
				Fix: "report this as a photonctl bug, with the output of photonctl doctor -v"}}
		}
	}()
	start := time.Now()
	res := c.Run(ctx, env)
	took := time.Since(start)
	for i := range res {
		res[i].Elapsed = took
		if res[i].ID == "" {
			res[i].ID = c.ID
		}
		if res[i].Group == "" {
			res[i].Group = c.Group
		}
		if res[i].Status == "" {
			res[i].Status = Skip
		}
	}
	return res
}

func groupIndex(g string) int {
	for i, x := range GroupOrder {
		if x == g {
			return i
		}
	}
	return len(GroupOrder)
}
