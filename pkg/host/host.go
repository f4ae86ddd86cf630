package host

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// StateDir is where photonctl keeps its own state, relative to the root.
const StateDir = "/var/lib/photonctl"

// Host is a machine seen through its root directory.
type Host struct {
	root string
	// dirs caches folders resolved inside the root (host path -> host
	// path), only those that exist: doctor reads thousands of sysfs files.
	dirs sync.Map
	// hook is called before every change (tests that interrupt a run).
	hook WriteHook
	// kernel, when set, plays the kernel behind sysfs writes (tests).
	kernel SysfsKernel
}

// New returns the host whose filesystem is under root. The root must be an
// existing directory.
func New(root string) (*Host, error) {
	if root == "" {
		root = "/"
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("root %q: %w", root, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("root %q does not exist: %w; pass --root an existing directory", root, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("root %q is not a directory; pass --root an existing directory", root)
	}
	return &Host{root: abs}, nil
}

// Root is the absolute root directory.
func (h *Host) Root() string { return h.root }

// IsLive reports whether the root is the machine's own "/".
func (h *Host) IsLive() bool { return h.root == "/" }

// Path joins a host path such as "/sys/class/net" under the root. The result
// never leaves the root, whatever ".." the path holds.
//
// Under a root other than "/", symlinks on the way are resolved inside the
// root, as the host itself would resolve them: an absolute link
// (/var/run -> /run, libfstack.a -> /usr/local/lib/libfstack.a.1.24) points
// into the root, never at this machine's own files. The last element is not
// followed, so that removing or replacing a link acts on the link; the
// readers of this package (ReadFile, Exists, ...) follow it inside the root.
func (h *Host) Path(elem ...string) string {
	p := filepath.Clean("/" + filepath.Join(elem...))
	if h.root == "/" || p == "/" {
		return filepath.Join(h.root, p)
	}
	return filepath.Join(h.root, h.resolveDir(filepath.Dir(p)), filepath.Base(p))
}

// resolveDir is resolve for a folder, remembered once it exists.
func (h *Host) resolveDir(d string) string {
	if v, ok := h.dirs.Load(d); ok {
		return v.(string)
	}
	r, complete := h.walk(d)
	if complete {
		h.dirs.Store(d, r)
	}
	return r
}

// target is p under the root with every link followed inside the root, the
// last one too: what reading p reads.
func (h *Host) target(p string) string {
	p = filepath.Clean("/" + p)
	if h.root == "/" {
		return p
	}
	if p != "/" {
		dir := h.resolveDir(filepath.Dir(p))
		last := filepath.Join(dir, filepath.Base(p))
		if fi, err := os.Lstat(filepath.Join(h.root, last)); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			return filepath.Join(h.root, last)
		}
		p = last
	}
	r, _ := h.walk(p)
	return filepath.Join(h.root, r)
}

// maxLinks bounds symlink resolution, as the kernel's ELOOP does.
const maxLinks = 40

// walk follows the symlinks of host path p inside the root and returns the
// host path they lead to, and whether every component exists. Missing
// components end the walk (a file about to be created); too many links leave
// the rest unresolved.
func (h *Host) walk(p string) (string, bool) {
	todo := strings.Split(strings.TrimPrefix(p, "/"), "/")
	done := "/"
	links := 0
	for len(todo) > 0 {
		name := todo[0]
		todo = todo[1:]
		if name == "" || name == "." {
			continue
		}
		if name == ".." {
			done = filepath.Dir(done)
			continue
		}
		next := filepath.Join(done, name)
		fi, err := os.Lstat(filepath.Join(h.root, next))
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			if err != nil {
				// Missing: keep the rest as it is.
				return filepath.Join(append([]string{next}, todo...)...), false
			}
			done = next
			continue
		}
		target, err := os.Readlink(filepath.Join(h.root, next))
		links++
		if err != nil || links > maxLinks {
			return filepath.Join(append([]string{next}, todo...)...), false
		}
		if filepath.IsAbs(target) {
			done = "/"
		}
		todo = append(strings.Split(strings.TrimPrefix(target, "/"), "/"), todo...)
	}
	return done, true
}

// Rel turns a path under the root back into the host path ("/etc/...").
func (h *Host) Rel(abs string) string {
	r, err := filepath.Rel(h.root, abs)
	if err != nil || strings.HasPrefix(r, "..") {
		return abs
	}
	return "/" + filepath.ToSlash(r)
}

// ReadFile reads a host file.
func (h *Host) ReadFile(p string) ([]byte, error) {
	return os.ReadFile(h.target(p))
}

// ReadString reads a host file and trims surrounding white space, as sysfs
// attributes want.
func (h *Host) ReadString(p string) (string, error) {
	b, err := h.ReadFile(p)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// ReadInt reads a host file holding one decimal integer.
func (h *Host) ReadInt(p string) (int64, error) {
	s, err := h.ReadString(p)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: want an integer, found %q", p, s)
	}
	return n, nil
}

// Exists reports whether a host path exists (following symlinks).
func (h *Host) Exists(p string) bool {
	_, err := os.Stat(h.target(p))
	return err == nil
}

// Glob matches a host path pattern and returns host paths ("/sys/..."). It
// lists folders as the readers do, every link resolved inside the root, so a
// link on the way never lists this machine's own folders.
func (h *Host) Glob(pattern string) ([]string, error) {
	pattern = filepath.Clean("/" + pattern)
	if h.root == "/" {
		return filepath.Glob(pattern)
	}
	if _, err := filepath.Match(pattern, ""); err != nil {
		return nil, err
	}
	cur := []string{"/"}
	for _, part := range strings.Split(strings.TrimPrefix(pattern, "/"), "/") {
		if part == "" {
			continue
		}
		var next []string
		for _, c := range cur {
			if !strings.ContainsAny(part, `*?[\`) {
				next = append(next, filepath.Join(c, part))
				continue
			}
			ents, err := h.ReadDir(c)
			if err != nil {
				continue
			}
			for _, e := range ents {
				if ok, _ := filepath.Match(part, e.Name()); ok {
					next = append(next, filepath.Join(c, e.Name()))
				}
			}
		}
		cur = next
	}
	var out []string
	for _, c := range cur {
		if _, err := os.Lstat(h.Path(c)); err == nil {
			out = append(out, c)
		}
	}
	return out, nil
}

// ReadLink reads a symlink under the root (sysfs is full of them).
func (h *Host) ReadLink(p string) (string, error) {
	return os.Readlink(h.Path(p))
}

// Lstat describes p itself, a symlink included.
func (h *Host) Lstat(p string) (fs.FileInfo, error) {
	return os.Lstat(h.Path(p))
}

// ReadDir lists a host directory.
func (h *Host) ReadDir(p string) ([]fs.DirEntry, error) {
	return os.ReadDir(h.target(p))
}

// IsNotExist reports whether err says a file is missing.
func IsNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// IsPermission reports whether err says access was refused (not root).
func IsPermission(err error) bool { return errors.Is(err, fs.ErrPermission) }
