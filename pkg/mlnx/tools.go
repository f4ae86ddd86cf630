package mlnx

import (
	"errors"
	"fmt"

	"github.com/photonctl/photonctl/pkg/runner"
)

// ErrNoTools is a host with neither NVIDIA MFT nor mstflint.
var ErrNoTools = errors.New("no Mellanox firmware tool is installed")

// InstallHint says how to get a firmware tool.
const InstallHint = "install mstflint (apt-get install mstflint on Debian/Ubuntu, yum install mstflint on EL) " +
	"or NVIDIA MFT (https://network.nvidia.com/products/adapter-software/firmware-tools/)"

// Tools are the firmware tools found on the host.
type Tools struct {
	Suite  string // "NVIDIA MFT" or "mstflint"
	Config string // mlxconfig or mstconfig
	Reset  string // mlxfwreset or mstfwreset; "" when not installed
	// MST is "mst" with MFT when installed: its devices live in /dev/mst.
	MST string
}

// MFT reports whether the tools are NVIDIA MFT's.
func (t Tools) MFT() bool { return t.Config == "mlxconfig" }

// DetectTools looks for MFT first (mlxconfig), then mstflint (mstconfig).
func DetectTools(r runner.Runner) (Tools, error) {
	has := func(n string) bool { _, err := r.LookPath(n); return err == nil }
	switch {
	case has("mlxconfig"):
		t := Tools{Suite: "NVIDIA MFT", Config: "mlxconfig"}
		if has("mlxfwreset") {
			t.Reset = "mlxfwreset"
		}
		if has("mst") {
			t.MST = "mst"
		}
		return t, nil
	case has("mstconfig"):
		t := Tools{Suite: "mstflint", Config: "mstconfig"}
		if has("mstfwreset") {
			t.Reset = "mstfwreset"
		}
		return t, nil
	}
	return Tools{}, fmt.Errorf("%w (looked for mlxconfig and mstconfig); %s", ErrNoTools, InstallHint)
}

// QueryArgv queries every column (-e: Default, Current, Next Boot).
func (t Tools) QueryArgv(dev string) []string {
	if t.MFT() {
		return []string{t.Config, "-d", dev, "-e", "query"}
	}
	return []string{t.Config, "-d", dev, "-e", "q"}
}

// SetArgv sets SR-IOV on and the VF count, without asking.
func (t Tools) SetArgv(dev string, numVFs int) []string {
	return []string{t.Config, "-d", dev, "-y", "set", "SRIOV_EN=1", fmt.Sprintf("NUM_OF_VFS=%d", numVFs)}
}

// ResetArgv applies the next-boot configuration now, without asking.
func (t Tools) ResetArgv(dev string) []string {
	return []string{t.Reset, "-d", dev, "-y", "reset"}
}
