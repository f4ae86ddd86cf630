package mlnx

import (
	"strings"

	"github.com/photonctl/photonctl/pkg/host"
)

// LockdownPath is where the kernel says its lockdown mode.
const LockdownPath = "/sys/kernel/security/lockdown"

// ParseLockdown reads the selected mode from "[none] integrity
// confidentiality"; "" when nothing is selected.
func ParseLockdown(s string) string {
	for _, f := range strings.Fields(s) {
		if len(f) > 2 && f[0] == '[' && f[len(f)-1] == ']' && !strings.ContainsAny(f[1:len(f)-1], "[]") {
			return f[1 : len(f)-1]
		}
	}
	return ""
}

// Lockdown returns the kernel's lockdown mode: "none", "integrity",
// "confidentiality", or "" when the kernel has no lockdown (or securityfs
// is not mounted).
func Lockdown(h *host.Host) string {
	s, err := h.ReadString(LockdownPath)
	if err != nil {
		return ""
	}
	return ParseLockdown(s)
}

// lockedDown reports whether the mode stops raw device access.
func lockedDown(mode string) bool { return mode == "integrity" || mode == "confidentiality" }
