package grub

import (
	"context"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/runner/runnertest"
	"github.com/photonctl/photonctl/pkg/spec"
)

// The grub step changes the kernel command line only for what the run asks:
// the IOMMU arguments for --vfs N, --bind-vfio, --iommu-args or --only grub;
// pci=realloc for --pci-realloc; other steps' arguments (1G hugepages) alone.
func TestGrubPlansOnlyWhatIsAsked(t *testing.T) {
	h := fixture.Host(t, "grub-centos7")
	plan := func(mod func(*spec.Spec), only []string, others engine.KernelArgs) *engine.Plan {
		t.Helper()
		env := newEnv(h, runnertest.New(t).Tools("grub2-mkconfig"), mod)
		env.Only, env.KernelArgs = only, others
		p, err := NewStep().Check(context.Background(), env)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	after := func(p *engine.Plan) string {
		if len(p.Changes) == 0 {
			return ""
		}
		return p.Changes[0].After
	}
	p := plan(nil, nil, engine.KernelArgs{})
	if !strings.HasPrefix(p.Skip, "not asked for") || len(p.Changes) != 0 || !strings.Contains(p.Hint, "lacks intel_iommu=on iommu=pt") {
		t.Errorf("nothing asked: %+v", p)
	}
	for name, c := range map[string]struct {
		mod    func(*spec.Spec)
		only   []string
		others engine.KernelArgs
		want   string
		not    string
	}{
		"--vfs 4":      {func(s *spec.Spec) { s.VFs = 4 }, nil, nil, "quiet intel_iommu=on iommu=pt\"", ""},
		"--bind-vfio":  {func(s *spec.Spec) { s.VFs, s.BindVFIO = 0, true }, nil, nil, "intel_iommu=on iommu=pt", ""},
		"--only grub":  {nil, []string{"grub"}, nil, "intel_iommu=on iommu=pt", ""},
		"--vfs 0":      {func(s *spec.Spec) { s.VFs, s.PCIRealloc = 0, true }, nil, nil, "quiet pci=realloc\"", "intel_iommu"},
		"1G hugepages": {nil, nil, engine.KernelArgs{"hugepages": {"default_hugepagesz=1G", "hugepagesz=1G", "hugepages=8"}}, "quiet default_hugepagesz=1G hugepagesz=1G hugepages=8\"", "intel_iommu"},
	} {
		p := plan(c.mod, c.only, c.others)
		if p.Skip != "" || !strings.Contains(after(p), c.want) || c.not != "" && strings.Contains(after(p), c.not) {
			t.Errorf("%s: skip %q, line %q; want %q without %q", name, p.Skip, after(p), c.want, c.not)
		}
	}
}
