package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/photonctl/photonctl/pkg/engine"
)

// Exit codes, decided here and nowhere else.
const (
	ExitOK      = 0
	ExitFailure = 1 // a step failed; doctor found a failure
	ExitUsage   = 2 // bad usage or bad input; nothing was changed
	ExitReboot  = 3 // reboot, then run photonctl setup again
)

// exitError carries an exit code decided by a command.
type exitError struct {
	code int
	err  error // nil: the command already said everything
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// withCode makes err end the process with code.
func withCode(code int, err error) error { return &exitError{code: code, err: err} }

// usageError is bad usage or input: exit 2.
func usageError(format string, a ...any) error {
	return withCode(ExitUsage, fmt.Errorf(format, a...))
}

// exitCode turns the error a command returned into the process's exit code and
// prints it.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	code := ExitFailure
	if errors.As(err, &ee) {
		code = ee.code
		if ee.err == nil {
			return code
		}
	} else if engine.IsBadInput(err) {
		code = ExitUsage
	}
	fmt.Fprintf(stderr, "photonctl: %v\n", err)
	return code
}
