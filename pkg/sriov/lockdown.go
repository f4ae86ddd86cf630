package sriov

import (
	"strings"

	"github.com/photonctl/photonctl/pkg/host"
)

// LockdownPath is the kernel lockdown state.
const LockdownPath = "/sys/kernel/security/lockdown"

// ParseLockdown reads /sys/kernel/security/lockdown ("none [integrity]
// confidentiality") and returns the mode in brackets, or "" when there is none.
func ParseLockdown(b []byte) string {
	for _, f := range strings.Fields(string(b)) {
		if len(f) > 2 && f[0] == '[' && f[len(f)-1] == ']' {
			return f[1 : len(f)-1]
		}
	}
	return ""
}

// Lockdown returns the host's lockdown mode: "none", "integrity",
// "confidentiality", or "" where the kernel does not say.
func Lockdown(h *host.Host) string {
	b, err := h.ReadFile(LockdownPath)
	if err != nil {
		return ""
	}
	return ParseLockdown(b)
}

// LockedDown reports whether kernel lockdown is on (integrity or
// confidentiality), which refuses some sysfs writes and firmware changes.
func LockedDown(h *host.Host) (mode string, on bool) {
	m := Lockdown(h)
	return m, m == "integrity" || m == "confidentiality"
}
