package main

import (
	"fmt"
	"io"
	"sort"
)

// stat is a median with its min and max.
type stat struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

func statOf(v []float64) stat {
	if len(v) == 0 {
		return stat{}
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return stat{Median: m, Min: s[0], Max: s[len(s)-1]}
}

// row is one server in one mode under one driver, with ratios of its
// medians to the reference server's (the first in -servers) under the same
// driver.
type row struct {
	Mode     string  `json:"mode"`
	Conns    int     `json:"conns"`
	Driver   string  `json:"driver"`
	Server   string  `json:"server"`
	QPS      stat    `json:"qps"`
	P99us    stat    `json:"p99_us"`
	CPUusMsg stat    `json:"server_cpu_us_per_msg"`
	MBps     stat    `json:"mbps"`
	QPSx     float64 `json:"qps_ratio"`
	P99x     float64 `json:"p99_ratio"`
	CPUx     float64 `json:"cpu_ratio"`
}

func summarize(samples []sample, drivers, servers []string, cases []runCase) []row {
	var rows []row
	for _, kc := range cases {
		mode := kc.Mode
		for _, drv := range drivers {
			var ref *row
			for _, srv := range servers {
				var q, p, c, mb []float64
				for _, s := range samples {
					if s.Mode == mode && s.Conns == kc.Conns && s.Driver == drv && s.Server == srv {
						q, c, mb = append(q, s.QPS), append(c, s.CPUusMsg), append(mb, s.MBps)
						if s.P99us > 0 {
							p = append(p, s.P99us)
						}
					}
				}
				r := row{Mode: mode, Conns: kc.Conns, Driver: drv, Server: srv, QPS: statOf(q), P99us: statOf(p), CPUusMsg: statOf(c), MBps: statOf(mb)}
				if ref == nil {
					ref = &r
				}
				r.QPSx, r.P99x, r.CPUx = ratio(r.QPS.Median, ref.QPS.Median), ratio(r.P99us.Median, ref.P99us.Median), ratio(r.CPUusMsg.Median, ref.CPUusMsg.Median)
				rows = append(rows, r)
			}
		}
	}
	return rows
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func printTable(w io.Writer, o options, rows []row) {
	where := "on loopback"
	if o.lab {
		where = "in the lab (client in " + labNSB + ", servers on " + labAddr + ")"
	}
	fmt.Fprintf(w, "echo servers %s, %d B messages, streaming %d conn(s) (net-perf: 1), %v measured x %d rounds\n",
		where, o.size, o.sconns, o.duration, o.rounds)
	fmt.Fprintf(w, "(median [min..max]; x = ratio to %s in the same mode under the same driver; p99 - : net-perf's client has no percentiles)\n", o.servers[0])
	fmt.Fprintf(w, "%-13s %-9s %-13s %-30s %6s  %-30s %6s  %-24s %6s\n", "mode, conns", "driver", "server", "msgs/s", "x", "p99 us", "x", "server CPU us/msg", "x")
	for _, r := range rows {
		conns := r.Conns
		if r.Mode == "streaming" && r.Driver == driverNetperf {
			conns = 1
		}
		p99, p99x := "-", "-"
		if r.P99us.Median > 0 {
			p99 = fmt.Sprintf("%.1f [%.1f..%.1f]", r.P99us.Median, r.P99us.Min, r.P99us.Max)
			p99x = fmt.Sprintf("%.2f", r.P99x)
		}
		fmt.Fprintf(w, "%-13s %-9s %-13s %-30s %6.2f  %-30s %6s  %-24s %6.2f\n", fmt.Sprintf("%s %d", r.Mode, conns), r.Driver, r.Server,
			fmt.Sprintf("%.0f [%.0f..%.0f]", r.QPS.Median, r.QPS.Min, r.QPS.Max), r.QPSx,
			p99, p99x,
			fmt.Sprintf("%.3f [%.3f..%.3f]", r.CPUusMsg.Median, r.CPUusMsg.Min, r.CPUusMsg.Max), r.CPUx)
	}
}

// clientRow is one client, with ratios of its medians to the reference
// client's (the first in -clients).
type clientRow struct {
	Client         string  `json:"client"`
	QPS            stat    `json:"qps"`
	P99us          stat    `json:"p99_us"`
	ClientCPUusMsg stat    `json:"client_cpu_us_per_msg"`
	ServerCPUusMsg stat    `json:"server_cpu_us_per_msg"`
	ClientBusy     float64 `json:"client_cpu_share"` // median CPU s per s
	ServerBusy     float64 `json:"server_cpu_share"`
	QPSx           float64 `json:"qps_ratio"`
	P99x           float64 `json:"p99_ratio"`
	ClientCPUx     float64 `json:"client_cpu_ratio"`
	ServerCPUx     float64 `json:"server_cpu_ratio"`
}

func summarizeClients(samples []clientSample, clients []string) []clientRow {
	var rows []clientRow
	for _, cl := range clients {
		var q, p, cc, sc, cb, sb []float64
		for _, s := range samples {
			if s.Client != cl {
				continue
			}
			q, p = append(q, s.QPS), append(p, s.P99us)
			cc, sc = append(cc, s.ClientCPUusMsg), append(sc, s.ServerCPUusMsg)
			if s.Window > 0 {
				cb, sb = append(cb, s.ClientCPU/s.Window), append(sb, s.ServerCPU/s.Window)
			}
		}
		r := clientRow{Client: cl, QPS: statOf(q), P99us: statOf(p), ClientCPUusMsg: statOf(cc), ServerCPUusMsg: statOf(sc),
			ClientBusy: statOf(cb).Median, ServerBusy: statOf(sb).Median}
		rows = append(rows, r)
	}
	for i := range rows {
		r, ref := &rows[i], rows[0]
		r.QPSx, r.P99x = ratio(r.QPS.Median, ref.QPS.Median), ratio(r.P99us.Median, ref.P99us.Median)
		r.ClientCPUx, r.ServerCPUx = ratio(r.ClientCPUusMsg.Median, ref.ClientCPUusMsg.Median), ratio(r.ServerCPUusMsg.Median, ref.ServerCPUusMsg.Median)
	}
	return rows
}

func printClientTable(w io.Writer, o options, rows []clientRow) {
	ref := ""
	if len(rows) > 0 {
		ref = rows[0].Client
	}
	fmt.Fprintf(w, "echo clients against %s, pingpong, %d conns x %d B, %v measured x %d rounds (median [min..max]; x = ratio to %s; busy = CPU s per s)\n",
		o.servers[0], o.conns, o.size, o.duration, o.rounds, ref)
	fmt.Fprintf(w, "%-9s %-24s %5s  %-24s %5s  %-22s %5s %4s  %-22s %5s %4s\n", "client", "msgs/s", "x", "p99 us", "x",
		"client CPU us/msg", "x", "busy", "server CPU us/msg", "x", "busy")
	for _, r := range rows {
		fmt.Fprintf(w, "%-9s %-24s %5.2f  %-24s %5.2f  %-22s %5.2f %4.2f  %-22s %5.2f %4.2f\n", r.Client,
			fmt.Sprintf("%.0f [%.0f..%.0f]", r.QPS.Median, r.QPS.Min, r.QPS.Max), r.QPSx,
			fmt.Sprintf("%.1f [%.1f..%.1f]", r.P99us.Median, r.P99us.Min, r.P99us.Max), r.P99x,
			fmt.Sprintf("%.2f [%.2f..%.2f]", r.ClientCPUusMsg.Median, r.ClientCPUusMsg.Min, r.ClientCPUusMsg.Max), r.ClientCPUx, r.ClientBusy,
			fmt.Sprintf("%.2f [%.2f..%.2f]", r.ServerCPUusMsg.Median, r.ServerCPUusMsg.Min, r.ServerCPUusMsg.Max), r.ServerCPUx, r.ServerBusy)
	}
}
