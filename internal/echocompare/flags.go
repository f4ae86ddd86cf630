package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// What -compare compares.
const (
	compareServers = "servers"
	compareClients = "clients"
)

// invocation is what the command line asks for: one of the hidden modes the
// harness runs itself as (-serve, -client), or a comparison (o).
type invocation struct {
	serve  string // -serve: the Go echo server to be
	listen string
	buffer int
	client string // -client: the Go bench client to be
	addr   string
	o      options
}

// parseFlags parses and checks the command line; usage and errors go to
// stderr. flag.ErrHelp comes back for -h.
func parseFlags(args []string, stderr io.Writer) (*invocation, error) {
	var in invocation
	o := &in.o
	var servers, clients, modes, drivers, conns string
	fs := flag.NewFlagSet("echocompare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.compare, "compare", compareServers, "what to compare: servers (under photonctl's bench client) or clients (against one server)")
	fs.StringVar(&o.photonctl, "photonctl", "", "photonctl binary to run (default: build ./cmd/photonctl into a temp dir)")
	fs.StringVar(&servers, "servers", "kernel,gonet,gnet", "servers to compare, the first is the reference: kernel, gonet, gnet, photon (PhotonLibOS's net-perf server, needs -netperf; with -netperf the default is photon,kernel,gonet,gnet); with -lab: kernel, fstack, "+serverPhotonFstack+" (PhotonLibOS's fstack-dpdk-demo, needs -photon-fstack-demo); -compare clients: the one server, default kernel")
	fs.StringVar(&drivers, "drivers", "photonctl", "clients that drive the servers: photonctl (bench echo), netperf (PhotonLibOS's net-perf client, needs -netperf; with -netperf the default is photonctl,netperf)")
	fs.StringVar(&o.netperf, "netperf", "", "PhotonLibOS's net-perf binary (a Release build of its examples/perf): adds its server (photon) and its client (netperf)")
	fs.BoolVar(&o.netns, "netns", true, "as root, run in a private network namespace with only lo (unshare --net)")
	fs.StringVar(&clients, "clients", "photonctl,gonet", "with -compare clients: clients to compare, the first is the reference")
	fs.StringVar(&modes, "modes", "pingpong,streaming", "bench modes (-compare clients: pingpong only)")
	fs.IntVar(&o.rounds, "rounds", 3, "interleaved rounds (at least 3 for a median with min and max)")
	fs.StringVar(&conns, "conns", "100", "pingpong connections; a list such as 10,100 runs pingpong once per count (-compare clients: one count)")
	fs.IntVar(&o.sconns, "streaming-conns", 1, "streaming connections of bench echo (net-perf's streaming client has one)")
	fs.IntVar(&o.size, "size", 512, "message size in bytes (and the servers' read buffer)")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "measured time per run")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "warmup per run")
	fs.StringVar(&o.serverCPU, "server-cpu", "0", "CPU list the servers are pinned to (taskset -c)")
	fs.StringVar(&o.clientCPU, "client-cpu", "1", "CPU list the bench client is pinned to")
	fs.BoolVar(&o.jsonOut, "json", false, "print the results as JSON")
	fs.StringVar(&o.photonDemo, "photon-fstack-demo", "", "with -lab: PhotonLibOS's fstack-dpdk-demo (built with -DPHOTON_ENABLE_FSTACK_DPDK=ON and relinked against libfstack, see docs/dataplane.md): adds it as server "+serverPhotonFstack)
	fs.BoolVar(&o.lab, "lab", false, "compare the kernel and fstack engines in photonctl's fstack lab (needs root, a photonctl built with make fstack as -photonctl, and -servers kernel,fstack)")
	fs.StringVar(&in.serve, "serve", "", "run as the gonet or gnet echo server (used by the harness itself)")
	fs.StringVar(&in.listen, "listen", "127.0.0.1:0", "with -serve: listen address")
	fs.IntVar(&in.buffer, "buffer", 512, "with -serve: read buffer")
	fs.StringVar(&in.client, "client", "", "run as the gonet bench client against -addr with -conns, -size, -warmup, -duration (used by the harness itself)")
	fs.StringVar(&in.addr, "addr", "", "with -client: the echo server's HOST:PORT")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	var err error
	if o.connsList, err = parseConns(conns); err != nil {
		return nil, err
	}
	o.conns = o.connsList[0]
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q: every option is a flag (-h lists them)", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case in.serve != "" && in.client != "":
		return nil, errors.New("-serve and -client: give one (the harness runs itself as one of them)")
	case in.serve != "":
		return &in, nil // serve checks its kind
	case in.client != "":
		if in.client != "gonet" {
			return nil, fmt.Errorf("-client %q: the only Go client is gonet", in.client)
		}
		if in.addr == "" {
			return nil, errors.New("-client gonet needs -addr HOST:PORT of an echo server")
		}
		return &in, checkLoad(o)
	}
	if o.compare == compareClients {
		if !set["servers"] {
			servers = "kernel"
		}
		if !set["modes"] {
			modes = "pingpong"
		}
	}
	if o.lab && o.compare == compareServers && !set["servers"] {
		// In the lab the reference is Photon's F-Stack demo when given.
		servers = "kernel,fstack"
		if o.photonDemo != "" {
			servers = serverPhotonFstack + ",fstack,kernel"
		}
	}
	if o.netperf != "" && o.compare == compareServers {
		if !set["servers"] && !o.lab {
			servers = "photon,kernel,gonet,gnet"
		}
		if !set["drivers"] {
			drivers = "photonctl,netperf"
		}
	}
	o.servers = strings.Split(servers, ",")
	o.drivers = strings.Split(drivers, ",")
	o.clients = strings.Split(clients, ",")
	o.modes = strings.Split(modes, ",")
	return &in, o.check()
}

// parseConns parses -conns: one connection count or a comma-separated list.
func parseConns(s string) ([]int, error) {
	var l []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-conns %q: give a connection count of 1 or more, or a list such as 10,100", s)
		}
		if slices.Contains(l, n) {
			return nil, fmt.Errorf("-conns %q: %d twice", s, n)
		}
		l = append(l, n)
	}
	return l, nil
}

// checkLoad checks the load that both the harness and its Go client take.
func checkLoad(o *options) error {
	switch {
	case o.conns < 1:
		return fmt.Errorf("-conns %d: give 1 or more", o.conns)
	case o.sconns < 1:
		return fmt.Errorf("-streaming-conns %d: give 1 or more", o.sconns)
	case o.size < 1:
		return fmt.Errorf("-size %d: give 1 byte or more", o.size)
	case o.duration <= 0:
		return fmt.Errorf("-duration %v: give a positive duration such as 5s", o.duration)
	case o.warmup < 0:
		return fmt.Errorf("-warmup %v: give 0 or a positive duration", o.warmup)
	}
	return nil
}

// check says what is wrong with a comparison's options.
func (o *options) check() error {
	if o.rounds < 1 {
		return fmt.Errorf("-rounds %d: give 1 or more (3 or more for min/median/max)", o.rounds)
	}
	if err := checkLoad(o); err != nil {
		return err
	}
	switch o.compare {
	case compareServers:
	case compareClients:
		if o.lab {
			return errors.New("-compare clients runs on loopback, not in the lab: drop -lab")
		}
		if len(o.connsList) != 1 {
			return fmt.Errorf("-compare clients -conns %v: give one connection count", o.connsList)
		}
		if len(o.servers) != 1 {
			return fmt.Errorf("-compare clients -servers %q: give one server to run the clients against", strings.Join(o.servers, ","))
		}
		for _, m := range o.modes {
			if m != "pingpong" {
				return fmt.Errorf("-compare clients -modes %q: the Go client does pingpong only", strings.Join(o.modes, ","))
			}
		}
		seen := map[string]bool{}
		for _, c := range o.clients {
			if c != "photonctl" && c != "gonet" {
				return fmt.Errorf("-clients: unknown client %q (photonctl, gonet)", c)
			}
			if seen[c] {
				return fmt.Errorf("-clients: %q twice", c)
			}
			seen[c] = true
		}
	default:
		return fmt.Errorf("-compare %q: give servers or clients", o.compare)
	}
	for _, m := range o.modes {
		if m != "pingpong" && m != "streaming" {
			return fmt.Errorf("-modes: unknown mode %q (pingpong, streaming)", m)
		}
	}
	for _, s := range o.servers {
		switch {
		case s == "kernel", !o.lab && (s == "gonet" || s == "gnet" || s == serverKernelUring), o.lab && s == "fstack":
		case s == serverPhotonFstack && !o.lab:
			return fmt.Errorf("-servers %s: Photon's F-Stack demo runs in the lab: add -lab", s)
		case s == serverPhotonFstack && o.photonDemo == "":
			return fmt.Errorf("-servers %s needs -photon-fstack-demo PATH: PhotonLibOS's fstack-dpdk-demo, relinked against libfstack (docs/dataplane.md)", s)
		case s == serverPhotonFstack:
		case s == "photon" && o.lab:
			return errors.New("-servers photon: net-perf's server runs on loopback, not in the lab")
		case s == "photon" && o.netperf == "":
			return errors.New("-servers photon needs -netperf PATH: PhotonLibOS's net-perf binary")
		case s == "photon":
		case o.lab:
			return fmt.Errorf("-servers: %q does not run in the lab (kernel, fstack, %s)", s, serverPhotonFstack)
		default:
			return fmt.Errorf("-servers: unknown server %q (kernel, kernel-uring, gonet, gnet, photon; fstack with -lab)", s)
		}
	}
	seen := map[string]bool{}
	for _, d := range o.drivers {
		switch {
		case seen[d]:
			return fmt.Errorf("-drivers: %q twice", d)
		case d == driverBench:
		case d == driverNetperf && o.netperf == "":
			return errors.New("-drivers netperf needs -netperf PATH: PhotonLibOS's net-perf binary")
		case d == driverNetperf:
		default:
			return fmt.Errorf("-drivers: unknown driver %q (photonctl, netperf)", d)
		}
		seen[d] = true
	}
	if o.photonDemo != "" {
		if !o.lab {
			return errors.New("-photon-fstack-demo: Photon's F-Stack demo runs in the lab: add -lab")
		}
		if err := checkPhotonDemo(o.photonDemo); err != nil {
			return err
		}
	}
	if o.netperf != "" {
		if err := checkNetperf(o.netperf); err != nil {
			return err
		}
	}
	if o.lab && o.photonctl == "" {
		return errors.New("-lab needs -photonctl: a photonctl built with make fstack")
	}
	return nil
}
