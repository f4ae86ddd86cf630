// Package doctor runs photonctl's checks of a host and reports them: every
// step of the procedure and every known pitfall, each with what was found and,
// for a warning or a failure, the fix as a command or an edit.
//
// Checks live with the code that knows the subject (pkg/hugepages,
// pkg/grub, ...) and are handed to Run; this package only orders, runs and
// reports them. It changes nothing on the host.
package doctor
