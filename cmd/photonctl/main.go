// Command photonctl gets a Linux host ready for a DPDK dataplane and runs one:
// kernel arguments, SR-IOV VFs, Mellanox firmware, stable interface names,
// hugepages and f-stack.conf (setup), a diagnosis of all of it (doctor), and
// an embedded echo dataplane on F-Stack or kernel sockets (run echo).
package main

import (
	"os"

	"github.com/photonctl/photonctl/pkg/dataplane"
	"github.com/photonctl/photonctl/pkg/fstackconf"
)

func main() {
	// A build with the fstack engine writes and checks confs for the
	// F-Stack it carries, where the host has none installed.
	if l := dataplane.LinkedFstack(); l != nil {
		fstackconf.Linked = l.Fstack
	}
	os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
