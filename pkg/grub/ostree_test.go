package grub

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/runner"
)

// ostreeFake plays rpm-ostree kargs: it prints the deployment's arguments
// and changes them; any other command fails the test.
type ostreeFake struct {
	t     *testing.T
	kargs []string
	log   []string
}

func (o *ostreeFake) LookPath(name string) (string, error) {
	if name == "rpm-ostree" {
		return "/usr/bin/rpm-ostree", nil
	}
	return "", runner.ErrNotFound
}

func (o *ostreeFake) Run(_ context.Context, argv ...string) ([]byte, error) {
	o.log = append(o.log, runner.Quote(argv))
	if len(argv) < 2 || argv[0] != "rpm-ostree" || argv[1] != "kargs" {
		o.t.Errorf("unexpected command %q", argv)
		return nil, &runner.Error{Argv: argv, ExitCode: -1}
	}
	if len(argv) == 2 {
		return []byte(strings.Join(o.kargs, " ") + "\n"), nil
	}
	for _, a := range argv[2:] {
		switch {
		case strings.HasPrefix(a, "--delete="):
			d := strings.TrimPrefix(a, "--delete=")
			var keep []string
			for _, k := range o.kargs {
				if k != d {
					keep = append(keep, k)
				}
			}
			o.kargs = keep
		case strings.HasPrefix(a, "--append="):
			o.kargs = append(o.kargs, strings.TrimPrefix(a, "--append="))
		default:
			o.t.Errorf("unexpected rpm-ostree kargs argument %q", a)
		}
	}
	return nil, nil
}

func TestStepOstree(t *testing.T) {
	h := fixture.Host(t, "grub-rhel9")
	os.MkdirAll(h.Path("/run"), 0o755)
	writeFile(t, h, OstreeBooted, "")
	f := &ostreeFake{t: t, kargs: strings.Fields("mitigations=auto,nosmt ignition.platform.id=metal intel_iommu=off ostree=/ostree/boot.1/fedora-coreos/abc/0")}
	env := newEnv(h, f, nil)
	p := checkApply(t, env)
	if !p.RebootPending || len(p.Changes) != 1 {
		t.Fatalf("plan: %+v", p)
	}
	want := []string{
		"rpm-ostree kargs",
		"rpm-ostree kargs --delete=intel_iommu=off --append=intel_iommu=on --append=iommu=pt",
		"rpm-ostree kargs", // verify
	}
	if strings.Join(f.log, "\n") != strings.Join(want, "\n") {
		t.Errorf("commands:\n%s\nwant\n%s", strings.Join(f.log, "\n"), strings.Join(want, "\n"))
	}
	if readFile(t, h, DefaultGrub) != readFile(t, fixture.Host(t, "grub-rhel9"), DefaultGrub) {
		t.Error("/etc/default/grub was edited on an rpm-ostree host")
	}
}
