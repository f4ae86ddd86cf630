package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Guest is the one client the suite speaks to the guest through: ssh as
// root with the image's key to 127.0.0.1:Port, every call bounded in time.
type Guest struct {
	Port int
	Key  string
}

// Result is one command's outcome in the guest.
type Result struct {
	Stdout, Stderr string
	Exit           int // the command's exit code; -1 when ssh itself failed
}

func (r Result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", r.Exit, r.Stdout, r.Stderr)
}

func (g *Guest) sshArgs() []string {
	return []string{
		"-i", g.Key, "-p", strconv.Itoa(g.Port),
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
		"-o", "ServerAliveInterval=10", "-o", "ServerAliveCountMax=6",
		"root@127.0.0.1",
	}
}

// Run runs a shell script in the guest with stdin, within d. The error is
// for ssh or the time bound, not for the script's own exit code.
func (g *Guest) Run(d time.Duration, stdin io.Reader, script string) (Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ssh", append(g.sshArgs(), script)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr, cmd.Stdin = &out, &errb, stdin
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	r := Result{Stdout: out.String(), Stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		r.Exit = -1
		return r, fmt.Errorf("guest command %q: no answer within %s\n%s", script, d, r)
	case errors.As(err, &ee) && ee.ExitCode() != 255:
		r.Exit = ee.ExitCode()
		return r, nil
	case err != nil:
		r.Exit = -1
		return r, fmt.Errorf("ssh to the guest for %q: %w\n%s", script, err, r)
	}
	return r, nil
}

// Must runs script and fails unless it exits 0; it returns stdout.
func (g *Guest) Must(d time.Duration, script string) (string, error) {
	r, err := g.Run(d, nil, script)
	if err != nil {
		return "", err
	}
	if r.Exit != 0 {
		return "", fmt.Errorf("in the guest, %q: %s", script, r)
	}
	return r.Stdout, nil
}

// WaitUp waits until ssh answers, up to d.
func (g *Guest) WaitUp(d time.Duration) error {
	deadline := time.Now().Add(d)
	var last error
	for time.Now().Before(deadline) {
		r, err := g.Run(30*time.Second, nil, "true")
		if err == nil && r.Exit == 0 {
			return nil
		}
		last = err
		time.Sleep(2 * time.Second)
	}
	return fmt.Errorf("guest's ssh on 127.0.0.1:%d did not answer within %s: %v", g.Port, d, last)
}

// BootID is the guest kernel's boot_id: it changes with every boot.
func (g *Guest) BootID() (string, error) {
	out, err := g.Must(30*time.Second, "cat /proc/sys/kernel/random/boot_id")
	return strings.TrimSpace(out), err
}

// Reboot reboots the guest (through its firmware, GRUB and the kernel line
// GRUB has now) and waits, up to d, until it answers with a new boot_id.
func (g *Guest) Reboot(d time.Duration) error {
	before, err := g.BootID()
	if err != nil {
		return err
	}
	// The connection drops as the guest goes down: that is no failure.
	_, _ = g.Run(30*time.Second, nil, "systemctl reboot")
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		time.Sleep(3 * time.Second)
		id, err := g.BootID()
		if err == nil && id != before {
			return nil
		}
	}
	return fmt.Errorf("guest did not come back with a new boot_id within %s", d)
}

// Put writes b to path in the guest with mode.
func (g *Guest) Put(b []byte, path string, mode string) error {
	r, err := g.Run(2*time.Minute, bytes.NewReader(b), fmt.Sprintf("cat >%s.tmp && chmod %s %s.tmp && mv %s.tmp %s", path, mode, path, path, path))
	if err != nil {
		return err
	}
	if r.Exit != 0 {
		return fmt.Errorf("writing %s in the guest: %s", path, r)
	}
	return nil
}
