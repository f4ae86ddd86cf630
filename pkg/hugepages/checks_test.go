package hugepages

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/doctor"
	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/spec"
)

func doctorOn(t *testing.T, h *host.Host, sp spec.Spec) map[string]doctor.Result {
	rep, err := doctor.Run(context.Background(), &engine.Env{Host: h, Spec: sp}, Checks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]doctor.Result{}
	for _, r := range rep.Checks {
		if _, dup := out[r.ID+string(r.Status)]; dup {
			t.Errorf("duplicate result %s", r.ID)
		}
		out[r.ID] = r
		if (r.Status == doctor.Warn || r.Status == doctor.Fail) && r.Fix == "" {
			t.Errorf("%s is %s without a fix", r.ID, r.Status)
		}
	}
	return out
}

func setPool(t *testing.T, h *host.Host, node int, nr, free string) {
	for a, v := range map[string]string{"nr_hugepages": nr, "free_hugepages": free} {
		if err := os.WriteFile(h.Path(PoolDir(2048, node), a), []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDoctorFreshHost(t *testing.T) {
	h := fixture.Host(t, "base-centos7-2node")
	r := doctorOn(t, h, spec.Default())
	if got := r["hugepages-reserved"]; got.Status != doctor.Warn || !strings.Contains(got.Fix, "--hugepages") {
		t.Errorf("reserved: %+v", got)
	}
	if got := r["hugepages-mounted"]; got.Status != doctor.Fail {
		t.Errorf("mounted: %+v", got)
	}
	if got := r["hugepages-reserved-2M"]; got.Status != doctor.OK || !strings.Contains(got.Detail, "node0 0/0, node1 0/0") {
		t.Errorf("per-node detail: %+v", got)
	}
}

func TestDoctorTooFewFreeOnTheNodeAsked(t *testing.T) {
	h := fixture.Host(t, "base-centos7-2node", "hp-mounted")
	setPool(t, h, AllNodes, "64", "40")
	setPool(t, h, 0, "32", "32")
	setPool(t, h, 1, "32", "8")
	sp := spec.Default()
	sp.Hugepages, sp.NUMANode = 16, "1"
	r := doctorOn(t, h, sp)
	got := r["hugepages-reserved-2M"]
	if got.Status != doctor.Fail || !strings.Contains(got.Detail, "wants 16 free on node 1") || !strings.Contains(got.Fix, "--numa-node 1") {
		t.Errorf("reserved: %+v", got)
	}
	if got := r["hugepages-mounted"]; got.Status != doctor.OK {
		t.Errorf("mounted: %+v", got)
	}
	if got := r["hugepages-persistent"]; got.Status != doctor.Warn || !strings.Contains(got.Detail, "64 × 2M") {
		t.Errorf("persistent: %+v", got)
	}
}
