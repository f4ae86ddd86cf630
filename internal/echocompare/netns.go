package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// netnsEnv marks the harness re-run inside its private network namespace.
const netnsEnv = "ECHOCOMPARE_IN_NETNS"

// intoNetns runs the comparison again in a private network namespace that
// has only lo (unshare --net), so that nothing else on the host's loopback
// shares the servers' and clients' sockets. It does so when -netns is on,
// the harness is root and not already inside, and not with -lab (the lab's
// namespaces are the point there). child is true when this process ran the
// comparison that way: err is then its result.
func intoNetns(o options) (child bool, err error) {
	if os.Getenv(netnsEnv) != "" {
		if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
			return true, fmt.Errorf("in the private network namespace: ip link set lo up: %v: %s", err, out)
		}
		return false, nil
	}
	if !o.netns || o.lab {
		return false, nil
	}
	if os.Getuid() != 0 {
		fmt.Fprintln(os.Stderr, "note: not root, so not in a private network namespace: the servers share this host's loopback (-netns=false hides this)")
		return false, nil
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		fmt.Fprintln(os.Stderr, "note: no unshare (util-linux), so not in a private network namespace")
		return false, nil
	}
	self, err := os.Executable()
	if err != nil {
		return true, err
	}
	// The photonctl built (or given) is passed on: the child builds nothing.
	args := append([]string{"--net", "--", self}, os.Args[1:]...)
	args = append(args, "-photonctl", o.photonctl)
	cmd := exec.Command("unshare", args...)
	cmd.Env = append(os.Environ(), netnsEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	fmt.Fprintln(os.Stderr, "in a private network namespace (only lo): unshare --net")
	if err := cmd.Run(); err != nil {
		return true, fmt.Errorf("the run in a private network namespace (unshare --net %s) failed, see above: %w", strings.Join(args[2:], " "), err)
	}
	return true, nil
}
