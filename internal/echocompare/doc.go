// Command echocompare is the comparison benchmark behind make bench: it runs
// photonctl's kernel echo engine, a plain Go net echo server (a goroutine per
// connection), a gnet v2 echo server and, with -netperf, PhotonLibOS's
// net-perf echo server (photon), one server thread each (GOMAXPROCS=1 for
// the Go ones), the server pinned to CPU 0 and the driver to CPU 1, in
// interleaved rounds (A B C A B C ...), and prints, per mode, driver and
// server, the median (min..max) of messages/s, p99 round trip and the
// server's CPU time per message (utime+stime from /proc/PID/stat over the
// measured window), each as a ratio to the first server. The drivers are
// photonctl bench echo and, with -netperf, net-perf's own client (whose
// messages the harness counts from the client sockets' tcp_info). As root it
// runs in a private network namespace with only lo.
//
// With -lab it compares servers in photonctl's fstack lab instead (the
// client in namespace photon-lab-b, the servers on 10.99.0.1 in
// photon-lab-a): the kernel and fstack engines and, with
// -photon-fstack-demo, PhotonLibOS's fstack-dpdk-demo (photon-fstack), run
// in a private mount namespace with the lab's config bound over
// /etc/f-stack.conf, the path the demo reads. -conns 10,100 runs pingpong
// once per connection count. Every run fails where bench echo saw a byte
// come back wrong.
//
//	photonctl-fstack lab up --engine fstack
//	echocompare -lab -photonctl ./photonctl-fstack -photon-fstack-demo /path/to/fstack-dpdk-demo -netperf /path/to/net-perf -conns 10,100
//
// It is a module of its own, so that gnet and its friends stay out of
// photonctl's module graph; run it from its directory:
//
//	go -C internal/echocompare run .                      # defaults: 3 rounds, 5s each
//	go -C internal/echocompare run . -rounds 5 -duration 10s -modes streaming
//	go -C internal/echocompare run . -netperf /path/to/net-perf -servers photon,kernel
//
// With -compare clients it compares bench clients instead: photonctl's C
// client against a goroutine-per-connection Go client (-client gonet),
// both pinned to the client CPU with GOMAXPROCS=1, against one server,
// pingpong, and adds each client's CPU time per message.
//
//	go -C internal/echocompare run . -compare clients
//
// It is a measuring tool for developers, not part of photonctl; with -serve or -client it
// is one of the servers or clients it compares (the harness runs itself for that).
package main
