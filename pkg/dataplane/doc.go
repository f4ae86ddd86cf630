// Package dataplane is photonctl's embedded echo dataplane and its load
// generator: an event loop in C that accepts, reads up to a buffer's worth,
// writes it back and counts, on one of two network stacks picked at build
// time (the kernel's sockets and epoll always; F-Stack's ff_* calls with the
// fstack build tag), and a C client that drives many connections from one
// thread and checks every byte it gets back.
//
// Go talks to the C loops through a handful of calls (start, stats, stop):
// nothing crosses cgo per packet or per connection. This is the only package
// of photonctl with cgo.
//
// It is not a general server framework: it echoes, and it measures. Host
// preparation (hugepages, f-stack.conf) belongs to setup; this package only
// checks, before starting F-Stack, what would make ff_init end the process.
package dataplane
