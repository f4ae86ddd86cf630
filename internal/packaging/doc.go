// Package packaging tests photonctl as it ships: the static binary of make
// static (statically linked, running in an empty chroot: --version, and run
// echo with bench echo against it on loopback), make install's tree (one man
// page per command, man renders them, the bash completion loads and
// completes), and make package's .deb and .rpm (their metadata and file
// lists, installed with dpkg --root and rpm --root into scratch roots and
// removed again).
//
// It has no code, only tests. They run make, so they take a minute; each
// skips, naming the Debian package to install, when a tool it needs is
// missing (.ci/run installs them all).
package packaging
