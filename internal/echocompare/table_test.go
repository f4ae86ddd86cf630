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
		s = append(s, sample{Server: "kernel", Mode: "pingpong", Round: r, QPS: q, P99us: 1000, CPUusMsg: 5},
			sample{Server: "gonet", Mode: "pingpong", Round: r, QPS: q, P99us: 1100, CPUusMsg: 6})
	}
	var b bytes.Buffer
	printTable(&b, options{servers: []string{"kernel", "gonet"}, conns: 100, size: 512, duration: 5 * time.Second, rounds: 3},
		summarize(s, []string{"kernel", "gonet"}, []string{"pingpong"}))
	golden.Assert(t, "testdata/servers.golden", b.Bytes())
}
