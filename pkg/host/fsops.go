package host

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Every change photonctl makes to a host file goes through the functions of
// this file. They open the folder the change happens in with openat2 and
// RESOLVE_IN_ROOT, from a descriptor of the root: a symlink on the way
// resolves inside the root as the host would resolve it (an absolute target
// starts at the root, ".." stops at it), so no write reaches this machine's
// own files, even when the tree changes under photonctl's feet. The file
// itself is then created, renamed or removed by its name in that folder.

// tempMarker is in the name of every temporary file photonctl creates:
// .NAME.photonctl-tmp-NNNN beside NAME. A crash can leave one behind; Sweep
// removes them.
const tempMarker = ".photonctl-tmp-"

// tempName matches photonctl's temporary files, the older
// .NAME.photonctl-NNNN form too.
var tempName = regexp.MustCompile(`^\..+\.photonctl-(tmp-)?[0-9]+$`)

// IsTempName reports whether a file name is one of photonctl's temporary
// files.
func IsTempName(name string) bool { return tempName.MatchString(name) }

// ErrOutsideRoot marks a path that cannot be reached inside --root.
var ErrOutsideRoot = errors.New("outside the root")

// WriteHook, when set, is called before every change photonctl makes to a
// host file or attribute, with the kind of change and the host path. An error
// it returns fails that change as the system call would. It is for tests
// that interrupt a run at each write in turn.
type WriteHook func(op, path string) error

// SetWriteHook installs a WriteHook (nil removes it).
func (h *Host) SetWriteHook(f WriteHook) { h.hook = f }

func (h *Host) before(op, p string) error {
	if h.hook == nil {
		return nil
	}
	if err := h.hook(op, p); err != nil {
		return &fs.PathError{Op: op, Path: p, Err: err}
	}
	return nil
}

// openIn opens host path p with openat2 relative to the root, resolving every
// link inside it.
func (h *Host) openIn(p string, flags int, mode uint32) (int, error) {
	root, err := unix.Open(h.root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	defer unix.Close(root)
	rel := strings.TrimPrefix(filepath.Clean("/"+p), "/")
	if rel == "" {
		rel = "."
	}
	how := unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Mode: uint64(mode), Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS}
	for {
		fd, err := unix.Openat2(root, rel, &how)
		if err == unix.EINTR || err == unix.EAGAIN {
			continue
		}
		if errors.Is(err, unix.ENOSYS) {
			return -1, fmt.Errorf("openat2 is not available in this kernel (Linux 5.6 or later is needed to keep --root a boundary): %w", err)
		}
		return fd, err
	}
}

// openDir opens the folder of host path p (resolved inside the root) for
// *at calls.
func (h *Host) openDir(dir string) (*os.File, error) {
	fd, err := h.openIn(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	return os.NewFile(uintptr(fd), h.Path(dir)), nil
}

var tempSeq atomic.Uint64

// writeAtomic writes data to a temporary file in the folder of host path p,
// fsyncs it, gives it perm and (when uid >= 0) the owner, renames it over p
// and fsyncs the folder. p's folder is resolved inside the root; p itself is
// replaced, never followed (callers resolve a link they mean to edit through).
func (h *Host) writeAtomic(p string, data []byte, perm fs.FileMode, uid, gid int) error {
	p = filepath.Clean("/" + p)
	dir, base := filepath.Dir(p), filepath.Base(p)
	d, err := h.openDir(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	dfd := int(d.Fd())
	var tmp string
	var fd int
	for i := 0; ; i++ {
		tmp = "." + base + tempMarker + strconv.FormatUint(uint64(os.Getpid())*1_000_000+tempSeq.Add(1)%1_000_000, 10)
		if err := h.before("create", filepath.Join(dir, tmp)); err != nil {
			return err
		}
		fd, err = unix.Openat(dfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err == unix.EEXIST && i < 100 {
			continue
		}
		if err != nil {
			return &fs.PathError{Op: "create", Path: filepath.Join(dir, tmp), Err: err}
		}
		break
	}
	f := os.NewFile(uintptr(fd), filepath.Join(dir, tmp))
	ok := false
	defer func() {
		if !ok {
			f.Close()
			unix.Unlinkat(dfd, tmp, 0)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if uid >= 0 {
		if err := f.Chown(uid, gid); err != nil && !errors.Is(err, fs.ErrPermission) {
			return err
		}
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := h.before("rename", p); err != nil {
		return err
	}
	if err := unix.Renameat(dfd, tmp, dfd, base); err != nil {
		return &fs.PathError{Op: "rename", Path: p, Err: err}
	}
	ok = true
	d.Sync()
	return nil
}

// removeIn removes host path p (a file or a link, not followed; with dir, an
// empty folder). A missing p is no error.
func (h *Host) removeIn(p string, dir bool) error {
	p = filepath.Clean("/" + p)
	d, err := h.openDir(filepath.Dir(p))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer d.Close()
	if err := h.before("remove", p); err != nil {
		return err
	}
	flag := 0
	if dir {
		flag = unix.AT_REMOVEDIR
	}
	if err := unix.Unlinkat(int(d.Fd()), filepath.Base(p), flag); err != nil && err != unix.ENOENT {
		return &fs.PathError{Op: "remove", Path: p, Err: err}
	}
	d.Sync()
	return nil
}

// symlinkIn creates link p -> target (target kept as it is).
func (h *Host) symlinkIn(target, p string) error {
	p = filepath.Clean("/" + p)
	d, err := h.openDir(filepath.Dir(p))
	if err != nil {
		return err
	}
	defer d.Close()
	if err := h.before("symlink", p); err != nil {
		return err
	}
	if err := unix.Symlinkat(target, int(d.Fd()), filepath.Base(p)); err != nil {
		return &fs.PathError{Op: "symlink", Path: p, Err: err}
	}
	d.Sync()
	return nil
}

// chmodChown sets the mode and owner of host path p (not following a link
// at the end).
func (h *Host) chmodChown(p string, mode fs.FileMode, uid, gid int) error {
	p = filepath.Clean("/" + p)
	d, err := h.openDir(filepath.Dir(p))
	if err != nil {
		return err
	}
	defer d.Close()
	if err := h.before("chmod", p); err != nil {
		return err
	}
	if err := unix.Fchmodat(int(d.Fd()), filepath.Base(p), uint32(mode.Perm()), 0); err != nil {
		return &fs.PathError{Op: "chmod", Path: p, Err: err}
	}
	if uid >= 0 {
		if err := unix.Fchownat(int(d.Fd()), filepath.Base(p), uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil && err != unix.EPERM {
			return &fs.PathError{Op: "chown", Path: p, Err: err}
		}
	}
	return nil
}

// mkdirAll creates the folder dir and any missing parent inside the root.
// created is called with each folder before it is made (write-ahead: the
// change set records it first).
func (h *Host) mkdirAll(dir string, perm fs.FileMode, created func(p string) error) error {
	dir = filepath.Clean("/" + dir)
	if dir == "/" {
		return nil
	}
	fd, err := h.openIn(dir, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err == nil {
		unix.Close(fd)
		return nil
	}
	if err != unix.ENOENT {
		return &fs.PathError{Op: "mkdir", Path: dir, Err: err}
	}
	if err := h.mkdirAll(filepath.Dir(dir), perm, created); err != nil {
		return err
	}
	if created != nil {
		if err := created(dir); err != nil {
			return err
		}
	}
	d, err := h.openDir(filepath.Dir(dir))
	if err != nil {
		return err
	}
	defer d.Close()
	if err := h.before("mkdir", dir); err != nil {
		return err
	}
	if err := unix.Mkdirat(int(d.Fd()), filepath.Base(dir), uint32(perm.Perm())); err != nil && err != unix.EEXIST {
		return &fs.PathError{Op: "mkdir", Path: dir, Err: err}
	}
	d.Sync()
	return nil
}

// lstatIn describes host path p itself (a link is not followed), its folders
// resolved inside the root.
func (h *Host) lstatIn(p string) (fs.FileInfo, error) {
	return os.Lstat(h.Path(p))
}

// Resolve returns the host path p leads to, every link on the way (the last
// one too) followed inside the root: the file a write through p changes.
func (h *Host) Resolve(p string) string {
	return h.Rel(h.target(p))
}

// openForWrite opens an existing file in place (sysfs attributes), resolved
// inside the root.
func (h *Host) openForWrite(p string) (*os.File, error) {
	fd, err := h.openIn(p, unix.O_WRONLY|unix.O_TRUNC, 0)
	if err != nil {
		if err == unix.ENOENT && h.root != "/" {
			if r := h.Resolve(p); r != filepath.Clean("/"+p) {
				return nil, fmt.Errorf("%w (the link leads to %s inside %s, which does not exist; --root is a boundary: photonctl never follows a link out of it)", err, r, h.root)
			}
		}
		return nil, err
	}
	return os.NewFile(uintptr(fd), h.Path(p)), nil
}

// OpenLock opens (creating it) one of photonctl's own files for locking,
// inside the root.
func (h *Host) OpenLock(p string) (*os.File, error) {
	if err := h.mkdirAll(filepath.Dir(p), 0o755, nil); err != nil {
		return nil, err
	}
	if err := h.before("create", p); err != nil {
		return nil, err
	}
	fd, err := h.openIn(p, unix.O_RDWR|unix.O_CREAT, 0o644)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	return os.NewFile(uintptr(fd), h.Path(p)), nil
}

// Sweep removes what an interrupted run left behind: photonctl's temporary
// files in its own folder, in every folder a change set touched and in
// extra (host paths of folders), and backup folders that never got a
// manifest (a run stopped before its first backup). Only call it holding the
// setup lock: another run's temporary files are in use. It returns the host
// paths it removed.
func (h *Host) Sweep(extra ...string) ([]string, error) {
	dirs := map[string]bool{}
	for _, d := range extra {
		dirs[filepath.Clean("/"+d)] = true
	}
	var removed []string
	ents, err := h.ReadDir(BackupsDir)
	if err != nil && !IsNotExist(err) {
		return nil, err
	}
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		m, err := h.readManifest(e.Name())
		if errors.Is(err, ErrNoBackup) {
			// This version writes the manifest first: without it, the
			// folder holds nothing but a temporary file. An older one
			// copied files first; their copies get a manifest back.
			dir := BackupsDir + "/" + e.Name()
			rm, rerr := h.recoverManifest(e.Name())
			if rerr != nil {
				return removed, rerr
			}
			if len(rm.Entries) > 0 {
				m, err = rm, nil
			} else {
				if err := h.removeTree(dir); err != nil {
					return removed, err
				}
				removed = append(removed, dir)
				continue
			}
		}
		if err != nil {
			return removed, err
		}
		for _, en := range m.Entries {
			dirs[filepath.Dir(en.Path)] = true
			dirs[filepath.Dir(h.Resolve(en.Path))] = true
		}
	}
	// photonctl's own folder, its backups included, to any depth.
	if err := h.walkDirs(StateDir, func(d string) { dirs[d] = true }); err != nil {
		return removed, err
	}
	for d := range dirs {
		ents, err := h.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if e.Type().IsRegular() && IsTempName(e.Name()) {
				p := filepath.Join(d, e.Name())
				if err := h.removeIn(p, false); err != nil {
					return removed, err
				}
				removed = append(removed, p)
			}
		}
	}
	return removed, nil
}

func (h *Host) walkDirs(dir string, f func(string)) error {
	ents, err := h.ReadDir(dir)
	if IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	f(dir)
	for _, e := range ents {
		if e.IsDir() {
			if err := h.walkDirs(filepath.Join(dir, e.Name()), f); err != nil {
				return err
			}
		}
	}
	return nil
}

// removeTree removes a folder of photonctl's own and what it holds.
func (h *Host) removeTree(dir string) error {
	ents, err := h.ReadDir(dir)
	if err != nil && !IsNotExist(err) {
		return err
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if e.IsDir() {
			if err := h.removeTree(p); err != nil {
				return err
			}
			continue
		}
		if err := h.removeIn(p, false); err != nil {
			return err
		}
	}
	return h.removeIn(dir, true)
}

// chmodChownLink sets the owner of link p itself.
func (h *Host) chmodChownLink(p string, uid, gid int) error {
	d, err := h.openDir(filepath.Dir(p))
	if err != nil {
		return err
	}
	defer d.Close()
	if err := h.before("chown", p); err != nil {
		return err
	}
	if err := unix.Fchownat(int(d.Fd()), filepath.Base(p), uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil && err != unix.EPERM {
		return &fs.PathError{Op: "chown", Path: p, Err: err}
	}
	return nil
}

// recoverManifest writes a manifest for backup folder id from the copies under
// its files/ (left by an older photonctl that copied before it wrote the
// manifest): each copy is a file that existed, with the copy's mode; owners
// are unknown and left as they are. No copies, no manifest.
func (h *Host) recoverManifest(id string) (Manifest, error) {
	m := Manifest{ID: id, Reason: "recovered: a run stopped before it wrote this manifest"}
	files := BackupsDir + "/" + id + "/files"
	var walk func(dir string) error
	walk = func(dir string) error {
		ents, err := h.ReadDir(dir)
		if err != nil {
			return nil
		}
		for _, e := range ents {
			p := filepath.Join(dir, e.Name())
			switch {
			case e.IsDir():
				if err := walk(p); err != nil {
					return err
				}
			case e.Type().IsRegular() && !IsTempName(e.Name()):
				fi, err := e.Info()
				if err != nil {
					return err
				}
				m.Entries = append(m.Entries, Entry{Path: strings.TrimPrefix(p, files), Existed: true, Mode: fi.Mode().Perm(), UID: -1, GID: -1})
			}
		}
		return nil
	}
	if err := walk(files); err != nil || len(m.Entries) == 0 {
		return m, err
	}
	t := &Txn{h: h, manifest: m}
	if fi, err := h.Lstat(BackupsDir + "/" + id); err == nil {
		t.manifest.Created = fi.ModTime().UTC()
	}
	return t.manifest, t.writeManifest()
}
