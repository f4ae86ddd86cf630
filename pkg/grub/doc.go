// Package grub puts kernel arguments (IOMMU, pci=realloc and those other
// steps want) on the kernel command line of the next boot, on the GRUB
// setups people run: EL7 (grub2-mkconfig, BIOS and UEFI), EL8/EL9 with
// BootLoaderSpec entries (grubby, or the entries and grubenv edited
// directly), Debian and Ubuntu (update-grub) and rpm-ostree hosts. It is the
// grub step of photonctl setup (NewStep) and the kernel group of doctor
// (Checks).
//
// /etc/default/grub is read the way grub-mkconfig reads it, as a POSIX shell
// assignment list (Parse), with the drop-ins of /etc/default/grub.d after it.
// Edits are whole-token, by key, and touch only the bytes of the statement
// that decides GRUB_CMDLINE_LINUX; where the value depends on something only
// running the shell could tell, they refuse with the line.
//
// It is not a shell interpreter, not a GRUB configuration generator (the
// distribution's tools regenerate grub.cfg) and not for reading arguments a
// running kernel was booted with for other purposes.
package grub
