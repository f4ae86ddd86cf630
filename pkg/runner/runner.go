package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Runner runs one command given as argv and returns its combined output.
type Runner interface {
	// Run runs argv[0] with the arguments argv[1:].
	Run(ctx context.Context, argv ...string) ([]byte, error)
	// LookPath says where the tool is inside the root, or ErrNotFound.
	LookPath(name string) (string, error)
}

// ErrNotFound is returned for a tool that is not installed in the root.
var ErrNotFound = errors.New("tool not installed")

// Error is a command that failed: how it was run, how it ended, what it said.
type Error struct {
	Argv     []string
	ExitCode int // -1 when it did not start or was killed
	Output   []byte
	Err      error
}

func (e *Error) Error() string {
	out := strings.TrimSpace(string(e.Output))
	if len(out) > 2000 {
		out = out[:2000] + "..."
	}
	msg := fmt.Sprintf("running %s: %v", Quote(e.Argv), e.Err)
	if out != "" {
		msg += ": " + out
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Quote renders argv as a command line a person can paste into a shell.
func Quote(argv []string) string {
	parts := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`|&;<>()*?[]{}!#~") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts[i] = a
	}
	return strings.Join(parts, " ")
}

// Exec runs commands on the machine, chrooted into Root when Root is not "/".
type Exec struct {
	Root string
	// Env is added to the environment (LC_ALL=C is always set).
	Env []string
}

// searchPath is where tools are looked for inside a root.
var searchPath = []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}

func (x Exec) chrooted() bool { return x.Root != "" && filepath.Clean(x.Root) != "/" }

// LookPath finds a tool inside the root.
func (x Exec) LookPath(name string) (string, error) {
	if strings.Contains(name, "/") {
		if st, err := os.Stat(filepath.Join(x.rootDir(), name)); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return name, nil
		}
		return "", fmt.Errorf("%s: %w", name, ErrNotFound)
	}
	for _, d := range searchPath {
		p := filepath.Join(d, name)
		if st, err := os.Stat(filepath.Join(x.rootDir(), p)); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	where := "on this machine"
	if x.chrooted() {
		where = "in root " + x.Root
	}
	return "", fmt.Errorf("%s is not installed %s: %w", name, where, ErrNotFound)
}

func (x Exec) rootDir() string {
	if x.Root == "" {
		return "/"
	}
	return x.Root
}

// Run runs argv and returns its combined stdout and stderr.
func (x Exec) Run(ctx context.Context, argv ...string) ([]byte, error) {
	if len(argv) == 0 {
		return nil, errors.New("runner: empty command")
	}
	path, err := x.LookPath(argv[0])
	if err != nil {
		return nil, &Error{Argv: argv, ExitCode: -1, Err: err}
	}
	var cmd *exec.Cmd
	if x.chrooted() {
		cmd = exec.CommandContext(ctx, "chroot", append([]string{x.Root, path}, argv[1:]...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, argv[1:]...)
	}
	cmd.Env = append(append(os.Environ(), x.Env...), "LC_ALL=C")
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err = cmd.Run()
	if err != nil {
		code := -1
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		}
		return out.Bytes(), &Error{Argv: argv, ExitCode: code, Output: out.Bytes(), Err: err}
	}
	return out.Bytes(), nil
}
