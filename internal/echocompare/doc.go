// Command echocompare is the comparison benchmark behind make bench: it runs
// photonctl's kernel echo engine, a plain Go net echo server (a goroutine per
// connection) and a gnet v2 echo server, one server thread each (GOMAXPROCS=1
// for the Go ones), the server pinned to CPU 0 and the photonctl bench client
// to CPU 1, in interleaved rounds (A B C A B C ...), and prints, per mode and
// server, the median (min..max) of messages/s, p99 round trip and the server's
// CPU time per message (utime+stime from /proc/PID/stat over the measured
// window), each as a ratio to the kernel engine.
//
//	go run ./internal/echocompare                      # defaults: 3 rounds, 5s each
//	go run ./internal/echocompare -rounds 5 -duration 10s -modes streaming
//
// With -compare clients it compares bench clients instead: photonctl's C
// client against a goroutine-per-connection Go client (-client gonet),
// both pinned to the client CPU with GOMAXPROCS=1, against one server,
// pingpong, and adds each client's CPU time per message.
//
//	go run ./internal/echocompare -compare clients
//
// It is a measuring tool for developers, not part of photonctl; with -serve or -client it
// is one of the servers or clients it compares (the harness runs itself for that).
package main
