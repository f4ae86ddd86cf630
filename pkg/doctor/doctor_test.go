package doctor

import (
	"context"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/engine"
)

func one(id, group string, st Status) Check {
	return Check{ID: id, Group: group, Run: func(context.Context, *engine.Env) []Result {
		return []Result{{Status: st, Detail: id, Fix: "do " + id}}
	}}
}

func TestRunOrdersByGroupAndSummarises(t *testing.T) {
	checks := []Check{one("hp", GroupHugepages, Fail), one("iommu", GroupKernel, OK), one("vfs", GroupSRIOV, Warn), one("conf", GroupFstackConf, Skip)}
	rep, err := Run(context.Background(), &engine.Env{}, checks, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range rep.Checks {
		ids = append(ids, c.ID)
	}
	if strings.Join(ids, ",") != "iommu,vfs,hp,conf" {
		t.Errorf("order %v", ids)
	}
	if rep.Summary != (Summary{OK: 1, Warn: 1, Fail: 1, Skip: 1}) || !rep.Failed() || rep.Schema != 1 {
		t.Errorf("summary %+v", rep.Summary)
	}
}

func TestOnlyGroupsAndUnknownGroup(t *testing.T) {
	checks := []Check{one("hp", GroupHugepages, OK), one("iommu", GroupKernel, Fail)}
	rep, err := Run(context.Background(), &engine.Env{}, checks, []string{"hugepages"})
	if err != nil || len(rep.Checks) != 1 || rep.Failed() {
		t.Errorf("%+v %v", rep, err)
	}
	if _, err := Run(context.Background(), &engine.Env{}, checks, []string{"iommu"}); !engine.IsBadInput(err) {
		t.Errorf("unknown group: %v", err)
	}
}

func TestCrashingCheckIsAFailureNotACrash(t *testing.T) {
	c := Check{ID: "boom", Group: GroupDPDK, Run: func(context.Context, *engine.Env) []Result { panic("nil map") }}
	rep, err := Run(context.Background(), &engine.Env{}, []Check{c}, nil)
	if err != nil || rep.Checks[0].Status != Fail || !strings.Contains(rep.Checks[0].Detail, "nil map") {
		t.Errorf("%+v %v", rep, err)
	}
}
