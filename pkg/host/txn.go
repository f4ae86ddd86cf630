package host

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"
)

// BackupsDir holds one folder per change set, named by its ID.
const BackupsDir = StateDir + "/backups"

const manifestName = "manifest.json"

// Entry is one file a change set replaced, created or removed.
type Entry struct {
	Path    string      `json:"path"`
	Existed bool        `json:"existed"`
	Mode    fs.FileMode `json:"mode,omitempty"`
	UID     int         `json:"uid"`
	GID     int         `json:"gid"`
}

// Manifest describes one change set: what it touched, so that Rollback can put
// it back.
type Manifest struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
	Reason  string    `json:"reason,omitempty"`
	Entries []Entry   `json:"entries"`
}

// Txn is a change set of host files. Every file it replaces is first copied
// under BackupsDir/<id>/files/<path>, then replaced atomically: a temporary
// file in the same folder, fsync, rename, with the old file's mode and owner.
// Nothing is written under BackupsDir until the first file changes.
type Txn struct {
	h        *Host
	manifest Manifest
	seen     map[string]bool
}

// NewID returns a change-set ID from the time: sortable and readable.
func NewID(now time.Time) string {
	return now.UTC().Format("20060102T150405.000000Z")
}

// Begin starts a change set.
func (h *Host) Begin(id, reason string) *Txn {
	if id == "" {
		id = NewID(time.Now())
	}
	return &Txn{h: h, manifest: Manifest{ID: id, Created: time.Now().UTC(), Reason: reason}, seen: map[string]bool{}}
}

// ID is the change set's ID, the one `photonctl rollback --id` takes.
func (t *Txn) ID() string { return t.manifest.ID }

// Entries lists what the change set touched so far.
func (t *Txn) Entries() []Entry { return append([]Entry(nil), t.manifest.Entries...) }

func (t *Txn) dir() string { return t.h.Path(BackupsDir, t.manifest.ID) }

// WriteFile replaces host file p with data. A file whose content is already
// data is left alone (not even its mtime changes) and changed is false. A new
// file gets perm; an existing one keeps its mode and owner.
func (t *Txn) WriteFile(p string, data []byte, perm fs.FileMode) (changed bool, err error) {
	full := t.h.Path(p)
	old, err := os.ReadFile(t.h.target(p))
	switch {
	case err == nil:
		if bytes.Equal(old, data) {
			return false, nil
		}
	case errors.Is(err, fs.ErrNotExist):
		old = nil
	default:
		return false, fmt.Errorf("reading %s before replacing it: %w", p, err)
	}
	entry, err := t.backup(p, old)
	if err != nil {
		return false, err
	}
	if entry.Existed {
		perm = entry.Mode
	}
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return false, fmt.Errorf("creating the folder of %s: %w", p, err)
	}
	if err := atomicWrite(full, data, perm, entry); err != nil {
		return false, fmt.Errorf("replacing %s: %w (the original is in %s)", p, err, t.h.Rel(t.dir()))
	}
	return true, nil
}

// Remove deletes host file p after backing it up. A missing file is no change.
func (t *Txn) Remove(p string) (changed bool, err error) {
	full := t.h.Path(p)
	old, err := os.ReadFile(t.h.target(p))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading %s before removing it: %w", p, err)
	}
	if _, err := t.backup(p, old); err != nil {
		return false, err
	}
	if err := os.Remove(full); err != nil {
		return false, fmt.Errorf("removing %s: %w", p, err)
	}
	return true, nil
}

// backup records p in the manifest (once per change set) and keeps a copy of
// its old content.
func (t *Txn) backup(p string, old []byte) (Entry, error) {
	p = filepath.Clean("/" + p)
	for _, e := range t.manifest.Entries {
		if e.Path == p {
			return e, nil
		}
	}
	e := Entry{Path: p}
	if st, err := os.Stat(t.h.target(p)); err == nil {
		e.Existed = true
		e.Mode = st.Mode().Perm()
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			e.UID, e.GID = int(sys.Uid), int(sys.Gid)
		}
	}
	if e.Existed {
		dst := filepath.Join(t.dir(), "files", p)
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return e, fmt.Errorf("backing up %s: %w", p, err)
		}
		if err := atomicWrite(dst, old, e.Mode, Entry{UID: -1}); err != nil {
			return e, fmt.Errorf("backing up %s: %w", p, err)
		}
	}
	t.manifest.Entries = append(t.manifest.Entries, e)
	if err := t.writeManifest(); err != nil {
		t.manifest.Entries = t.manifest.Entries[:len(t.manifest.Entries)-1]
		return e, err
	}
	return e, nil
}

func (t *Txn) writeManifest() error {
	if err := os.MkdirAll(t.dir(), 0o700); err != nil {
		return fmt.Errorf("creating backup folder: %w", err)
	}
	b, err := json.MarshalIndent(t.manifest, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicWrite(filepath.Join(t.dir(), manifestName), append(b, '\n'), 0o600, Entry{UID: -1}); err != nil {
		return fmt.Errorf("writing backup manifest: %w", err)
	}
	return nil
}

// atomicWrite writes data to a temporary file beside path, fsyncs it, gives it
// perm and (when owner.UID >= 0 and owner.Existed) the owner, renames it over
// path and fsyncs the folder.
func atomicWrite(path string, data []byte, perm fs.FileMode, owner Entry) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".photonctl-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if owner.Existed && owner.UID >= 0 {
		if err := f.Chown(owner.UID, owner.GID); err != nil && !errors.Is(err, fs.ErrPermission) {
			return err
		}
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Backups lists the change sets recorded on the host, oldest first.
func (h *Host) Backups() ([]Manifest, error) {
	ents, err := os.ReadDir(h.Path(BackupsDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Manifest
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		m, err := h.readManifest(e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// ErrNoBackup is returned for a change-set ID that is not on the host.
var ErrNoBackup = errors.New("no such backup")

func (h *Host) readManifest(id string) (Manifest, error) {
	var m Manifest
	if id == "" || id != filepath.Base(id) || id == "." || id == ".." {
		return m, fmt.Errorf("%w: %q (see photonctl rollback --list)", ErrNoBackup, id)
	}
	b, err := os.ReadFile(h.Path(BackupsDir, id, manifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return m, fmt.Errorf("%w: %q (see photonctl rollback --list)", ErrNoBackup, id)
	}
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("backup %s: manifest is damaged: %w", id, err)
	}
	return m, nil
}

// Rollback puts back every file of change set id: replaced files get their old
// content, mode and owner; files it created are removed. The rollback is itself
// a change set (returned), so it can be undone too.
func (h *Host) Rollback(id string) (*Txn, error) {
	m, err := h.readManifest(id)
	if err != nil {
		return nil, err
	}
	t := h.Begin("", "rollback of "+id)
	for i := len(m.Entries) - 1; i >= 0; i-- {
		e := m.Entries[i]
		if !e.Existed {
			if _, err := t.Remove(e.Path); err != nil {
				return t, err
			}
			continue
		}
		data, err := os.ReadFile(h.Path(BackupsDir, id, "files", e.Path))
		if err != nil {
			return t, fmt.Errorf("backup %s lacks its copy of %s: %w", id, e.Path, err)
		}
		if _, err := t.WriteFile(e.Path, data, e.Mode); err != nil {
			return t, err
		}
		full := h.Path(e.Path)
		if err := os.Chmod(full, e.Mode); err != nil {
			return t, fmt.Errorf("restoring the mode of %s: %w", e.Path, err)
		}
		if err := os.Lchown(full, e.UID, e.GID); err != nil && !errors.Is(err, fs.ErrPermission) {
			return t, fmt.Errorf("restoring the owner of %s: %w", e.Path, err)
		}
	}
	return t, nil
}

// WriteOwnFile atomically replaces one of photonctl's own files (state, lab
// records): no backup, since nobody else owns them.
func WriteOwnFile(h *Host, p string, data []byte) error {
	full := h.Path(p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return err
	}
	return atomicWrite(full, data, 0o644, Entry{UID: -1})
}

// Keep backs up host file p as it is now without changing it, so that
// Rollback puts it back after a tool (grub2-mkconfig, grubby) rewrites it. A
// missing file is recorded as created: Rollback removes it.
func (t *Txn) Keep(p string) error {
	old, err := os.ReadFile(t.h.Path(p))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reading %s to back it up: %w", p, err)
	}
	_, err = t.backup(p, old)
	return err
}
