// Package runner runs external commands for photonctl: argv only (never a
// shell string), with LC_ALL=C so that output parses the same everywhere, and
// inside the host root (chroot) when photonctl works on a root other than "/",
// so that grub2-mkconfig reads the root's /etc/default/grub and not the
// machine's.
//
// A failure is an *Error carrying the command line, the exit status and the
// output. A tool the root lacks is ErrNotFound, naming the tool.
//
// Tests use runnertest.Fake, a strict fake: a call nobody registered fails the
// test, and so does a registered call that never happened.
package runner
