package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/photonctl/photonctl/pkg/golden"
)

func TestClientTable(t *testing.T) {
	var s []clientSample
	for r, q := range []float64{140000, 120000, 130000} {
		s = append(s,
			clientSample{Client: "photonctl", Round: r + 1, QPS: q, P99us: 1200, ClientCPUusMsg: 7, ServerCPUusMsg: 6.5 + float64(r)*0.25, ClientCPU: 4.75, ServerCPU: 4.5, Window: 5},
			clientSample{Client: "gonet", Round: r + 1, QPS: q * 0.8, P99us: 1700 + float64(r)*100, ClientCPUusMsg: 8.75, ServerCPUusMsg: 7, ClientCPU: 5, ServerCPU: 4, Window: 5})
	}
	rows := summarizeClients(s, []string{"photonctl", "gonet"})
	if len(rows) != 2 {
		t.Fatalf("%d rows", len(rows))
	}
	p, g := rows[0], rows[1]
	if p.QPS != (stat{Median: 130000, Min: 120000, Max: 140000}) || p.QPSx != 1 || p.ClientBusy != 0.95 || p.ServerBusy != 0.9 {
		t.Errorf("photonctl row %+v", p)
	}
	if g.QPSx != 0.8 || g.P99x != 1.5 || g.ClientCPUx != 1.25 || g.ServerCPUx != 7/6.75 {
		t.Errorf("gonet ratios %v %v %v %v", g.QPSx, g.P99x, g.ClientCPUx, g.ServerCPUx)
	}
	var b bytes.Buffer
	printClientTable(&b, options{servers: []string{"kernel"}, conns: 100, size: 512, duration: 5 * time.Second, rounds: 3}, rows)
	golden.Assert(t, "testdata/clients.golden", b.Bytes())
}

func TestServerTable(t *testing.T) {
	var s []sample
	for r, q := range []float64{140000, 120000, 130000} {
		s = append(s, sample{Driver: driverBench, Server: "photon", Mode: "streaming", Conns: 1, Round: r, QPS: q, P99us: 1000, CPUusMsg: 5},
			sample{Driver: driverBench, Server: "kernel", Mode: "streaming", Conns: 1, Round: r, QPS: q * 1.5, P99us: 800 + float64(r)*100, CPUusMsg: 2},
			sample{Driver: driverNetperf, Server: "photon", Mode: "streaming", Conns: 1, Round: r, QPS: 400000, CPUusMsg: 4},
			sample{Driver: driverNetperf, Server: "kernel", Mode: "streaming", Conns: 1, Round: r, QPS: 500000 + q, CPUusMsg: 3})
	}
	rows := summarize(s, []string{driverBench, driverNetperf}, []string{"photon", "kernel"}, []runCase{{"streaming", 1}})
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4", len(rows))
	}
	// Ratios are to photon under the same driver.
	if k := rows[1]; k.Driver != driverBench || k.QPSx != 1.5 || k.P99x != 0.9 || k.CPUx != 0.4 {
		t.Errorf("bench kernel row %+v", k)
	}
	if k := rows[3]; k.Driver != driverNetperf || k.QPSx != 630000.0/400000 || k.CPUx != 0.75 || k.P99us.Median != 0 {
		t.Errorf("netperf kernel row %+v", k)
	}
	var b bytes.Buffer
	printTable(&b, options{servers: []string{"photon", "kernel"}, conns: 100, sconns: 1, size: 512, duration: 5 * time.Second, rounds: 3}, rows)
	golden.Assert(t, "testdata/servers.golden", b.Bytes())
}

// The lab's table: Photon's F-Stack demo as the reference, pingpong at two
// connection counts and streaming, rows in the order the cases ran.
func TestLabTable(t *testing.T) {
	servers := []string{serverPhotonFstack, "fstack"}
	cases := []runCase{{"pingpong", 10}, {"pingpong", 100}, {"streaming", 1}}
	var s []sample
	for r := 1; r <= 3; r++ {
		for i, c := range cases {
			base := float64(10000 * (i + 1))
			s = append(s, sample{Driver: driverBench, Server: serverPhotonFstack, Mode: c.Mode, Conns: c.Conns, Round: r, QPS: base, P99us: 100, CPUusMsg: 10},
				sample{Driver: driverBench, Server: "fstack", Mode: c.Mode, Conns: c.Conns, Round: r, QPS: base * float64(4-i) * float64(r) / 2, P99us: 50, CPUusMsg: 5},
				sample{Driver: driverNetperf, Server: serverPhotonFstack, Mode: c.Mode, Conns: c.Conns, Round: r, QPS: base, CPUusMsg: 10},
				sample{Driver: driverNetperf, Server: "fstack", Mode: c.Mode, Conns: c.Conns, Round: r, QPS: base * 2, CPUusMsg: 4})
		}
	}
	rows := summarize(s, []string{driverBench, driverNetperf}, servers, cases)
	if len(rows) != 12 {
		t.Fatalf("%d rows, want 12", len(rows))
	}
	// Medians of rounds 1..3 (x 1/2, 1, 3/2): pingpong 10 is 4x, 100 3x, streaming 2x.
	for i, want := range []float64{4, 3, 2} {
		if r := rows[4*i+1]; r.Server != "fstack" || r.Driver != driverBench || r.Conns != cases[i].Conns || r.QPSx != want {
			t.Errorf("case %v: fstack row %+v, want ratio %v", cases[i], r, want)
		}
	}
	var b bytes.Buffer
	printTable(&b, options{lab: true, servers: servers, connsList: []int{10, 100}, sconns: 1, size: 512, duration: 5 * time.Second, rounds: 3}, rows)
	golden.Assert(t, "testdata/lab.golden", b.Bytes())
}
