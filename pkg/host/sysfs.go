package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
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

// writeOnly are the sysfs attributes that are triggers, not values: the
// kernel gives them no show method, so opening one for reading fails (even
// for root), and after a successful unbind the device's driver link that led
// to the file is gone. Their effect is verified elsewhere (the driver link,
// the device folder).
var writeOnly = map[string]bool{
	"bind": true, "unbind": true, "new_id": true, "remove_id": true,
	"drivers_probe": true, "rescan": true, "remove": true, "reset": true,
}

// WriteOnly reports whether the sysfs attribute at p is a write-only
// trigger (bind, unbind, new_id, remove_id, drivers_probe, rescan, remove,
// reset), which WriteSysfs never reads back.
func WriteOnly(p string) bool { return writeOnly[path.Base(p)] }

// SysfsKernel plays the kernel behind sysfs attributes on a fixture tree, in
// tests: Store runs for a write (the attribute's store method: the value
// lands and takes its effect, or an errno comes back), Show for a read back
// (its show method; a write-only trigger has none, and fails). With a
// kernel set, WriteSysfs goes through it instead of the files.
type SysfsKernel interface {
	Store(p, value string) error
	Show(p string) (string, error)
}

// PlayKernel makes WriteSysfs on h go through k; for tests on a fixture root.
func (h *Host) PlayKernel(k SysfsKernel) { h.kernel = k }

// WriteSysfs writes value to a sysfs attribute in place (never by rename, which
// sysfs refuses), bounded by timeout (DefaultSysfsTimeout when zero) and ctx,
// and returns what the attribute reads back afterwards; a write-only trigger
// (WriteOnly) is not read back, and "" is returned for it. The write happens in a
// goroutine: if it blocks past the bound the goroutine is left behind, which
// is the only thing one can do with a write the kernel does not finish.
func (h *Host) WriteSysfs(ctx context.Context, p, value string, timeout time.Duration) (string, error) {
	if timeout <= 0 {
		timeout = DefaultSysfsTimeout
	}
	done := make(chan error, 1)
	k := h.kernel
	go func() {
		if err := h.before("write", p); err != nil {
			done <- err
			return
		}
		if k != nil {
			done <- k.Store(p, value)
			return
		}
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
	// A write can change the tree (a driver link gone, VFs made): forget
	// the folders resolved so far.
	h.dirs.Clear()
	if WriteOnly(p) {
		return "", nil
	}
	var got string
	var err error
	if k != nil {
		got, err = k.Show(p)
	} else {
		got, err = h.ReadString(p)
	}
	if err != nil {
		return "", &SysfsError{Path: p, Value: value, Err: fmt.Errorf("reading it back: %w", err)}
	}
	return strings.TrimSpace(got), nil
}
