package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// ErrTimeout is returned when a sysfs write does not return in time: a wedged
// driver can block a write to sriov_numvfs or nr_hugepages for ever.
var ErrTimeout = errors.New("the kernel did not answer in time")

// DefaultSysfsTimeout bounds one sysfs write.
const DefaultSysfsTimeout = 30 * time.Second

// SysfsError is a failed sysfs write; it carries the value and the path.
type SysfsError struct {
	Path  string
	Value string
	Err   error
}

func (e *SysfsError) Error() string {
	return fmt.Sprintf("writing %q to %s: %v", e.Value, e.Path, e.Err)
}

func (e *SysfsError) Unwrap() error { return e.Err }

// WriteSysfs writes value to a sysfs attribute in place (never by rename, which
// sysfs refuses), bounded by timeout (DefaultSysfsTimeout when zero) and ctx,
// and returns what the attribute reads back afterwards. The write happens in a
// goroutine: if it blocks past the bound the goroutine is left behind, which
// is the only thing one can do with a write the kernel does not finish.
func (h *Host) WriteSysfs(ctx context.Context, p, value string, timeout time.Duration) (string, error) {
	if timeout <= 0 {
		timeout = DefaultSysfsTimeout
	}
	done := make(chan error, 1)
	go func() {
		f, err := h.openForWrite(p)
		if err != nil {
			done <- err
			return
		}
		_, err = f.WriteString(value)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		done <- err
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case err := <-done:
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return "", &SysfsError{Path: p, Value: value, Err: err}
		}
	case <-timer.C:
		return "", &SysfsError{Path: p, Value: value, Err: fmt.Errorf("%w after %s", ErrTimeout, timeout)}
	case <-ctx.Done():
		return "", &SysfsError{Path: p, Value: value, Err: ctx.Err()}
	}
	got, err := h.ReadString(p)
	if err != nil {
		return "", &SysfsError{Path: p, Value: value, Err: fmt.Errorf("reading it back: %w", err)}
	}
	return strings.TrimSpace(got), nil
}
