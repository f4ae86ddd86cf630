// Package host is photonctl's view of the machine it works on: one root
// directory under which every host path (/sys, /proc, /etc, /boot,
// /dev/hugepages, /var/lib/photonctl) is taken.
//
// A Host is a value passed to whoever needs the machine; there is no
// package-level root. In production the root is "/", in tests a t.TempDir()
// holding a fixture, and with `photonctl --root DIR` a copy of another host.
//
// The package reads files, writes sysfs attributes in place (bounded in time,
// read back, the value in any error) and replaces configuration files
// atomically after a backup (see Txn). It is not for running commands (see
// package runner) nor for netlink (links live in network namespaces, not
// under a root).
package host
