package dpdkenv

import (
	"context"
	"testing"

	"github.com/photonctl/photonctl/pkg/doctor"
	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/runner/runnertest"
	"github.com/photonctl/photonctl/pkg/spec"
)

// BenchmarkChecks runs every check on the healthy fixture with stale-looking
// files held by a process (the slowest path: /proc is scanned), the
// libfstack.a read and its ELF members parsed.
func BenchmarkChecks(b *testing.B) {
	h := fixture.Host(b, "dpdkenv-healthy", "dpdkenv-stale-files", "dpdkenv-stale-held")
	writeHostFile(b, h, ffPath+"/lib/libfstack.a", fakeLibfstack(true))
	f := runnertest.New(b).
		Allow(runnertest.Call{Argv: []string{"pkg-config", "--modversion", "libdpdk"}, Output: "20.11.0\n"}).
		Allow(runnertest.Call{Argv: []string{"pkg-config", "--version"}, Output: "0.29.2\n"})
	env := &engine.Env{Host: h, Run: f, Spec: spec.Default()}
	checks := ChecksWith(testOptions)
	b.ResetTimer()
	for b.Loop() {
		rep, err := doctor.Run(context.Background(), env, checks, nil)
		if err != nil || rep.Summary.OK != 7 {
			b.Fatalf("%+v, %v", rep, err)
		}
	}
}

// BenchmarkReferences is the archive scan on a libfstack-sized archive:
// 400 members, one referencing rte_flow_isolate.
func BenchmarkReferences(b *testing.B) {
	var files []arFile
	for i := 0; i < 400; i++ {
		undef := []string{"rte_eal_init", "rte_pktmbuf_alloc"}
		if i == 200 {
			undef = append(undef, "rte_flow_isolate")
		}
		files = append(files, arFile{Name: "freebsd_object_with_a_long_name_" + string(rune('a'+i%26)) + ".o", Data: elfObject([]string{"f"}, undef)})
	}
	data := arArchive(files, nil)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		a, err := ParseArchive(data)
		if err != nil {
			b.Fatal(err)
		}
		if refs, err := a.References(flowIsolateSym); err != nil || len(refs) != 1 {
			b.Fatal(refs, err)
		}
	}
}
