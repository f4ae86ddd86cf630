// Package lab builds a lab host on the machine photonctl runs on, so that the
// whole tool can be tried without an SR-IOV NIC: two network namespaces
// joined by a veth pair with addresses, and a host root whose /sys, /proc and
// /dev/hugepages are this machine's (bind mounts) while /etc and /boot are
// private copies for the distro asked for. What photonctl changes in files
// stays in the lab; what it changes in the kernel (hugepages) is real, and
// `lab down` puts it back.
//
// The lab records everything it creates in a state file and removes only
// that: it refuses to touch a namespace, a link or a folder it did not make.
// It is not a container runtime and isolates nothing but files and links.
package lab
