package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/doctor"
	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/runner"
	"github.com/photonctl/photonctl/pkg/spec"
)

// noTools is a host with no external tools at all: every check must make do
// with files and netlink, which is what doctor's speed goal is about.
type noTools struct{}

func (noTools) Run(ctx context.Context, argv ...string) ([]byte, error) {
	return nil, &runner.Error{Argv: argv, ExitCode: -1, Err: fmt.Errorf("%s: %w", argv[0], runner.ErrNotFound)}
}
func (noTools) LookPath(name string) (string, error) {
	return "", fmt.Errorf("%s: %w", name, runner.ErrNotFound)
}

// bigSRIOV renders, as a fixture, two X710 PFs with 64 VFs each: the size of
// host doctor must stay fast on.
func bigSRIOV() string {
	var b strings.Builder
	file := func(p, v string) { fmt.Fprintf(&b, "-- %s --\n%s\n", p, v) }
	link := func(p, target string) { fmt.Fprintf(&b, "-- %s -> %s --\n", p, target) }
	const parent = "sys/devices/pci0000:00/0000:00:03.0"
	dev := func(addr, device, driver, netdev, mac string) string {
		d := parent + "/" + addr
		file(d+"/vendor", "0x8086")
		file(d+"/device", device)
		file(d+"/class", "0x020000")
		file(d+"/numa_node", "0")
		file(d+"/driver_override", "(null)")
		file(d+"/modalias", fmt.Sprintf("pci:v00008086d0000%ssv00008086sd00000001bc02sc00i00", strings.ToUpper(device[2:])))
		link(d+"/driver", "../../../../bus/pci/drivers/"+driver)
		link("sys/bus/pci/devices/"+addr, "../../../devices/pci0000:00/0000:00:03.0/"+addr)
		file(d+"/net/"+netdev+"/address", mac)
		file(d+"/net/"+netdev+"/operstate", "up")
		link("sys/class/net/"+netdev, "../../devices/pci0000:00/0000:00:03.0/"+addr+"/net/"+netdev)
		return d
	}
	for pf := 0; pf < 2; pf++ {
		pfAddr := fmt.Sprintf("0000:18:00.%d", pf)
		d := dev(pfAddr, "0x1572", "i40e", fmt.Sprintf("ens1f%d", pf), fmt.Sprintf("3c:fd:fe:00:00:%02x", pf))
		offset := 0x80 - pf + 64*pf
		file(d+"/sriov_totalvfs", "64")
		file(d+"/sriov_numvfs", "64")
		file(d+"/sriov_offset", fmt.Sprint(offset))
		file(d+"/sriov_stride", "1")
		file(d+"/resource", "0x00000000fa000000 0x00000000fbffffff 0x000000000014220c")
		for vf := 0; vf < 64; vf++ {
			rid := 0x1800 + pf + offset + vf
			vfAddr := fmt.Sprintf("0000:%02x:%02x.%d", rid>>8, (rid>>3)&0x1f, rid&7)
			vd := dev(vfAddr, "0x154c", "iavf", fmt.Sprintf("ens1f%dv%d", pf, vf), fmt.Sprintf("02:00:00:%02x:%02x:01", pf, vf))
			link(vd+"/physfn", "../"+pfAddr)
			link(d+fmt.Sprintf("/virtfn%d", vf), "../"+vfAddr)
		}
	}
	return b.String()
}

func BenchmarkDoctor2PFx64VFs(b *testing.B) {
	h := fixture.Host(b, "base-centos7-2node", "hp-mounted", "grub-centos7")
	if err := fixture.Unpack(strings.NewReader(bigSRIOV()), h.Root()); err != nil {
		b.Fatal(err)
	}
	// A fresh Env per run, as each doctor command has: nothing is remembered
	// from one run to the next.
	newEnv := func() *engine.Env {
		fresh, err := host.New(h.Root()) // nothing cached from the last run either
		if err != nil {
			b.Fatal(err)
		}
		return &engine.Env{Host: fresh, Run: noTools{}, Spec: spec.Default()}
	}
	all := checks()
	rep, err := doctor.Run(context.Background(), newEnv(), all, nil)
	if err != nil {
		b.Fatal(err)
	}
	if n := len(rep.Checks); n < 20 {
		b.Fatalf("only %d results", n)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := doctor.Run(context.Background(), newEnv(), all, nil); err != nil {
			b.Fatal(err)
		}
	}
}
