package host

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"
)

// BackupsDir holds one folder per change set, named by its ID.
const BackupsDir = StateDir + "/backups"

const manifestName = "manifest.json"

// Entry kinds.
const (
	KindFile = ""     // a regular file
	KindDir  = "dir"  // a folder
	KindLink = "link" // a symlink
)

// Entry is one file, folder or link a change set replaced, created or
// removed.
type Entry struct {
	Path    string      `json:"path"`
	Kind    string      `json:"kind,omitempty"`
	Existed bool        `json:"existed"`
	Mode    fs.FileMode `json:"mode,omitempty"`
	UID     int         `json:"uid"`
	GID     int         `json:"gid"`
	// Link is a link's target (kind link, existed).
	Link string `json:"link,omitempty"`
	// Via is the symlink the file was edited through; the link is left as
	// it is.
	Via string `json:"via,omitempty"`
}

// Command is a command a change set ran: Undo, when set, is run by Rollback
// before it puts the files back (systemctl disable for an enable); Redo is
// run again after the files are back, since it generates from them (an
// initramfs from the udev rules).
type Command struct {
	Argv []string `json:"argv"`
	Undo []string `json:"undo,omitempty"`
	Redo bool     `json:"redo,omitempty"`
}

// Live is a value of the running system a change set changed (a sysfs
// attribute, a mount). Rollback writes Before back when Restore is set;
// otherwise it says plainly that it does not, and How to do it.
type Live struct {
	Path    string `json:"path"`
	Before  string `json:"before"`
	After   string `json:"after,omitempty"`
	Restore bool   `json:"restore,omitempty"`
	// ZeroFirst: write 0 before Before (sriov_numvfs takes no change
	// from one non-zero count to another).
	ZeroFirst bool   `json:"zero_first,omitempty"`
	How       string `json:"how,omitempty"`
}

// Manifest describes one change set: what it touched, so that Rollback can put
// it back. It is written before every change it records (write-ahead): a
// change set stopped half way still lists all it may have changed.
type Manifest struct {
	ID       string    `json:"id"`
	Created  time.Time `json:"created"`
	Reason   string    `json:"reason,omitempty"`
	Entries  []Entry   `json:"entries"`
	Commands []Command `json:"commands,omitempty"`
	Live     []Live    `json:"live,omitempty"`
}

// Txn is a change set of host files. Every change is first recorded in the
// manifest, BackupsDir/<id>/manifest.json; a file it replaces is then copied
// under BackupsDir/<id>/files/<path>, and replaced atomically: a temporary
// file in the same folder, fsync, rename, with the old file's mode and owner.
// Nothing is written under BackupsDir until the first change.
type Txn struct {
	h        *Host
	manifest Manifest
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
	return &Txn{h: h, manifest: Manifest{ID: id, Created: time.Now().UTC(), Reason: reason}}
}

// ID is the change set's ID, the one `photonctl rollback --id` takes.
func (t *Txn) ID() string { return t.manifest.ID }

// Entries lists what the change set touched so far.
func (t *Txn) Entries() []Entry { return append([]Entry(nil), t.manifest.Entries...) }

// Recorded reports whether the change set recorded anything (and so has a
// manifest on the host).
func (t *Txn) Recorded() bool {
	m := t.manifest
	return len(m.Entries)+len(m.Commands)+len(m.Live) > 0
}

func (t *Txn) dir() string { return BackupsDir + "/" + t.manifest.ID }

// target is the host path a write to p changes: p with its links followed
// inside the root, so that a config file that is a symlink is edited
// through to its target and the link stays.
func (t *Txn) target(p string) string {
	p = filepath.Clean("/" + p)
	return t.h.Resolve(p)
}

// WriteFile replaces host file p with data. A file whose content is already
// data is left alone (not even its mtime changes) and changed is false. A new
// file gets perm; an existing one keeps its mode and owner. A p that is a
// symlink is written through: its target changes, the link stays.
func (t *Txn) WriteFile(p string, data []byte, perm fs.FileMode) (changed bool, err error) {
	p = filepath.Clean("/" + p)
	r := t.target(p)
	old, err := os.ReadFile(t.h.Path(r))
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
	if err := t.MkdirAll(filepath.Dir(r), 0o755); err != nil {
		return false, fmt.Errorf("creating the folder of %s: %w", p, err)
	}
	entry, err := t.backup(r, p, old)
	if err != nil {
		return false, err
	}
	uid, gid := -1, -1
	if entry.Existed && entry.Kind == KindFile {
		perm, uid, gid = entry.Mode, entry.UID, entry.GID
	}
	if err := t.h.writeAtomic(r, data, perm, uid, gid); err != nil {
		return false, fmt.Errorf("replacing %s: %w (the original is in %s)", p, err, t.dir())
	}
	return true, nil
}

// MkdirAll creates folder p and its missing parents, recording each one it
// creates, so that Rollback removes them again.
func (t *Txn) MkdirAll(p string, perm fs.FileMode) error {
	return t.h.mkdirAll(p, perm, t.recordDir)
}

// recordDir records folder d as created (once).
func (t *Txn) recordDir(d string) error {
	for _, e := range t.manifest.Entries {
		if e.Path == d {
			return nil
		}
	}
	return t.record(Entry{Path: d, Kind: KindDir, Mode: 0o755})
}

// Remove deletes host file p (a link: the link itself) after backing it up.
// A missing file is no change.
func (t *Txn) Remove(p string) (changed bool, err error) {
	p = filepath.Clean("/" + p)
	fi, err := t.h.lstatIn(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading %s before removing it: %w", p, err)
	}
	r := filepath.Join(t.h.Rel(filepath.Dir(t.h.Path(p))), filepath.Base(p))
	if fi.Mode()&fs.ModeSymlink != 0 {
		if err := t.KeepLink(r); err != nil {
			return false, err
		}
	} else {
		old, err := os.ReadFile(t.h.Path(r))
		if err != nil {
			return false, fmt.Errorf("reading %s before removing it: %w", p, err)
		}
		if _, err := t.backup(r, "", old); err != nil {
			return false, err
		}
	}
	if err := t.h.removeIn(r, false); err != nil {
		return false, fmt.Errorf("removing %s: %w", p, err)
	}
	return true, nil
}

// KeepLink records link p as it is now (or as missing), before a command
// creates or removes it (systemctl enable): Rollback puts it back, or
// removes it.
func (t *Txn) KeepLink(p string) error {
	if t == nil {
		return nil // a step tried alone, outside a run
	}
	p = filepath.Clean("/" + p)
	for _, e := range t.manifest.Entries {
		if e.Path == p {
			return nil
		}
	}
	// The folders a command would create for the link (systemctl enable
	// makes multi-user.target.wants) are recorded as created: rollback
	// removes them when empty.
	var missing []string
	for d := filepath.Dir(p); d != "/"; d = filepath.Dir(d) {
		if _, err := t.h.lstatIn(d); err == nil {
			break
		}
		missing = append(missing, d)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := t.recordDir(missing[i]); err != nil {
			return err
		}
	}
	e := Entry{Path: p, Kind: KindLink, UID: -1, GID: -1}
	if fi, err := t.h.lstatIn(p); err == nil {
		if fi.Mode()&fs.ModeSymlink == 0 {
			return fmt.Errorf("%s is not a symlink; photonctl expected one there", p)
		}
		e.Existed = true
		if e.Link, err = os.Readlink(t.h.Path(p)); err != nil {
			return err
		}
		if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
			e.UID, e.GID = int(sys.Uid), int(sys.Gid)
		}
	}
	return t.record(e)
}

// Keep backs up host file p as it is now without changing it, so that
// Rollback puts it back after a tool (grub2-mkconfig, grubby) rewrites it. A
// missing file is recorded as created: Rollback removes it.
func (t *Txn) Keep(p string) error {
	p = filepath.Clean("/" + p)
	r := t.target(p)
	old, err := os.ReadFile(t.h.Path(r))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reading %s to back it up: %w", p, err)
	}
	_, err = t.backup(r, p, old)
	return err
}

// Command records a command before it runs (see Command).
func (t *Txn) Command(argv, undo []string, redo bool) error {
	if t == nil {
		return nil // a step tried alone, outside a run
	}
	for _, c := range t.manifest.Commands {
		if slices.Equal(c.Argv, argv) && slices.Equal(c.Undo, undo) && c.Redo == redo {
			return nil
		}
	}
	t.manifest.Commands = append(t.manifest.Commands, Command{Argv: argv, Undo: undo, Redo: redo})
	if err := t.writeManifest(); err != nil {
		t.manifest.Commands = t.manifest.Commands[:len(t.manifest.Commands)-1]
		return err
	}
	return nil
}

// RecordLive records a live value before it changes; the first record of a
// path keeps its Before.
func (t *Txn) RecordLive(l Live) error {
	if t == nil {
		return nil // a step tried alone, outside a run
	}
	for _, x := range t.manifest.Live {
		if x.Path == l.Path {
			return nil
		}
	}
	t.manifest.Live = append(t.manifest.Live, l)
	if err := t.writeManifest(); err != nil {
		t.manifest.Live = t.manifest.Live[:len(t.manifest.Live)-1]
		return err
	}
	return nil
}

// record appends e to the manifest and writes it.
func (t *Txn) record(e Entry) error {
	t.manifest.Entries = append(t.manifest.Entries, e)
	if err := t.writeManifest(); err != nil {
		t.manifest.Entries = t.manifest.Entries[:len(t.manifest.Entries)-1]
		return err
	}
	return nil
}

// backup records file r (reached as p) in the manifest, once per change
// set, then keeps a copy of its old content: the manifest always exists
// before the copy, and the copy before the change.
func (t *Txn) backup(r, p string, old []byte) (Entry, error) {
	for _, e := range t.manifest.Entries {
		if e.Path == r {
			return e, nil
		}
	}
	e := Entry{Path: r, UID: -1, GID: -1}
	if p != "" && p != r {
		e.Via = p
	}
	if st, err := os.Stat(t.h.Path(r)); err == nil {
		e.Existed = true
		e.Mode = st.Mode().Perm()
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			e.UID, e.GID = int(sys.Uid), int(sys.Gid)
		}
	}
	if err := t.record(e); err != nil {
		return e, err
	}
	if e.Existed {
		dst := filepath.Join(t.dir(), "files", r)
		if err := t.h.mkdirAll(filepath.Dir(dst), 0o700, nil); err != nil {
			return e, fmt.Errorf("backing up %s: %w", r, err)
		}
		if err := t.h.writeAtomic(dst, old, e.Mode, -1, -1); err != nil {
			return e, fmt.Errorf("backing up %s: %w", r, err)
		}
	}
	return e, nil
}

func (t *Txn) writeManifest() error {
	if err := t.h.mkdirAll(t.dir(), 0o700, nil); err != nil {
		return fmt.Errorf("creating backup folder: %w", err)
	}
	b, err := json.MarshalIndent(t.manifest, "", "  ")
	if err != nil {
		return err
	}
	if err := t.h.writeAtomic(t.dir()+"/"+manifestName, append(b, '\n'), 0o600, -1, -1); err != nil {
		return fmt.Errorf("writing backup manifest: %w", err)
	}
	return nil
}

// Backups lists the change sets recorded on the host, oldest first. A backup
// folder without a manifest (a run stopped before it recorded anything)
// holds nothing to put back and is not listed; the next setup or rollback
// removes it.
func (h *Host) Backups() ([]Manifest, error) {
	ents, err := h.ReadDir(BackupsDir)
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
		if errors.Is(err, ErrNoBackup) {
			continue
		}
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
	b, err := h.ReadFile(BackupsDir + "/" + id + "/" + manifestName)
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

// RollbackOptions steer a rollback.
type RollbackOptions struct {
	// Run runs a command (systemctl disable, dracut -f) inside the root;
	// nil runs none and says so.
	Run func(ctx context.Context, argv ...string) error
}

// RollbackResult is what a rollback did and did not do.
type RollbackResult struct {
	// Txn is the rollback's own change set: it can be undone too.
	Txn *Txn
	// Done lists what was put back besides files (commands run, live
	// values written back).
	Done []string
	// NotDone says, per thing, what was not put back and how to do it.
	NotDone []string
}

// Rollback puts back every file of change set id: replaced files get their old
// content, mode and owner; files it created are removed. The rollback is itself
// a change set (returned), so it can be undone too. It runs no command and
// writes no live value: see RollbackWith.
func (h *Host) Rollback(id string) (*Txn, error) {
	r, err := h.RollbackWith(context.Background(), id, RollbackOptions{})
	if r == nil {
		return nil, err
	}
	return r.Txn, err
}

// RollbackWith undoes change set id: it runs the Undo of every command it
// ran (newest first), puts back every file, link and mode, removes the files,
// links and (empty) folders it created, runs again the commands that
// generate from those files (Redo), and writes back the live values it may
// restore. What it cannot put back it lists in NotDone, with how.
func (h *Host) RollbackWith(ctx context.Context, id string, opt RollbackOptions) (*RollbackResult, error) {
	m, err := h.readManifest(id)
	if err != nil {
		return nil, err
	}
	t := h.Begin("", "rollback of "+id)
	res := &RollbackResult{Txn: t}
	run := func(argv []string, why string) {
		if opt.Run == nil {
			res.NotDone = append(res.NotDone, fmt.Sprintf("did not run %s (%s): run it by hand", strings.Join(argv, " "), why))
			return
		}
		if err := opt.Run(ctx, argv...); err != nil {
			res.NotDone = append(res.NotDone, fmt.Sprintf("%s (%s) failed: %v; run it by hand", strings.Join(argv, " "), why, err))
			return
		}
		res.Done = append(res.Done, "ran "+strings.Join(argv, " ")+" ("+why+")")
	}
	for i := len(m.Commands) - 1; i >= 0; i-- {
		if c := m.Commands[i]; len(c.Undo) > 0 {
			if err := t.Command(c.Undo, c.Argv, false); err != nil {
				return res, err
			}
			run(c.Undo, "undoes "+strings.Join(c.Argv, " "))
		}
	}
	// Files and links first, newest first; then the folders, deepest first.
	for pass := 0; pass < 2; pass++ {
		for i := len(m.Entries) - 1; i >= 0; i-- {
			e := m.Entries[i]
			if (e.Kind == KindDir) != (pass == 1) {
				continue
			}
			if err := h.restore(t, id, e, res); err != nil {
				return res, err
			}
		}
	}
	for _, c := range m.Commands {
		if c.Redo {
			if err := t.Command(c.Argv, nil, true); err != nil {
				return res, err
			}
			run(c.Argv, "regenerates from the restored files")
		}
	}
	for _, l := range m.Live {
		if !l.Restore {
			res.NotDone = append(res.NotDone, fmt.Sprintf("%s: not put back (now %s, was %s); to do it: %s", l.Path, orNone(l.After), orNone(l.Before), l.How))
			continue
		}
		if err := t.RecordLive(Live{Path: l.Path, Before: l.After, After: l.Before, Restore: true, ZeroFirst: l.ZeroFirst, How: l.How}); err != nil {
			return res, err
		}
		var err error
		if l.ZeroFirst && l.Before != "0" {
			_, err = h.WriteSysfs(ctx, l.Path, "0", 0)
		}
		if err == nil {
			var got string
			got, err = h.WriteSysfs(ctx, l.Path, l.Before, 0)
			if err == nil && got != l.Before {
				err = fmt.Errorf("it reads back %q", got)
			}
		}
		if err != nil {
			res.NotDone = append(res.NotDone, fmt.Sprintf("%s: putting back %s failed: %v; to do it: %s", l.Path, l.Before, err, l.How))
			continue
		}
		res.Done = append(res.Done, fmt.Sprintf("put back %s in %s", l.Before, l.Path))
	}
	return res, nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// restore puts back one entry of change set id.
func (h *Host) restore(t *Txn, id string, e Entry, res *RollbackResult) error {
	switch e.Kind {
	case KindDir:
		if e.Existed {
			return nil
		}
		ents, err := h.ReadDir(e.Path)
		if IsNotExist(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if len(ents) > 0 {
			res.NotDone = append(res.NotDone, fmt.Sprintf("%s: setup created this folder, but it is not empty now; left it", e.Path))
			return nil
		}
		if err := t.record(Entry{Path: e.Path, Kind: KindDir, Existed: true, Mode: e.Mode}); err != nil {
			return err
		}
		if err := h.removeIn(e.Path, true); err != nil {
			return fmt.Errorf("removing the folder %s setup created: %w", e.Path, err)
		}
		return nil
	case KindLink:
		cur, err := os.Readlink(h.Path(e.Path))
		exists := err == nil
		if !exists && !IsNotExist(err) {
			if _, lerr := h.lstatIn(e.Path); lerr == nil {
				exists = true // something else is there now
			}
		}
		if !e.Existed {
			if exists {
				if _, err := t.Remove(e.Path); err != nil {
					return err
				}
			}
			return nil
		}
		if exists && cur == e.Link {
			return nil
		}
		if exists {
			if _, err := t.Remove(e.Path); err != nil {
				return err
			}
		} else if err := t.KeepLink(e.Path); err != nil {
			return err
		}
		if err := t.MkdirAll(filepath.Dir(e.Path), 0o755); err != nil {
			return err
		}
		if err := h.symlinkIn(e.Link, e.Path); err != nil {
			return fmt.Errorf("putting back the link %s -> %s: %w", e.Path, e.Link, err)
		}
		if e.UID >= 0 {
			h.chmodChownLink(e.Path, e.UID, e.GID)
		}
		return nil
	}
	if !e.Existed {
		_, err := t.Remove(e.Path)
		return err
	}
	data, err := h.ReadFile(BackupsDir + "/" + id + "/files" + e.Path)
	if IsNotExist(err) {
		// The copy is made before the file changes: without it, the
		// change set stopped before it changed this file.
		return nil
	}
	if err != nil {
		return fmt.Errorf("backup %s: reading its copy of %s: %w", id, e.Path, err)
	}
	if _, err := t.WriteFile(e.Path, data, e.Mode); err != nil {
		return err
	}
	fi, err := os.Lstat(h.Path(e.Path))
	if err != nil {
		return err
	}
	uid, gid := -1, -1
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok && (int(sys.Uid) != e.UID || int(sys.Gid) != e.GID) {
		uid, gid = e.UID, e.GID
	}
	if fi.Mode().Perm() != e.Mode || uid >= 0 {
		if err := h.chmodChown(e.Path, e.Mode, uid, gid); err != nil {
			return fmt.Errorf("restoring the mode and owner of %s: %w", e.Path, err)
		}
	}
	return nil
}

// WriteOwnFile atomically replaces one of photonctl's own files (state, lab
// records): no backup, since nobody else owns them.
func WriteOwnFile(h *Host, p string, data []byte) error {
	if err := h.mkdirAll(filepath.Dir(p), 0o755, nil); err != nil {
		return err
	}
	return h.writeAtomic(p, data, 0o644, -1, -1)
}

// RemoveOwnFile removes one of photonctl's own files; a missing one is no
// error.
func RemoveOwnFile(h *Host, p string) error {
	return h.removeIn(p, false)
}

// Count is how many changes the change set recorded so far.
func (t *Txn) Count() int {
	m := t.manifest
	return len(m.Entries) + len(m.Commands) + len(m.Live)
}

// Backup reads the manifest of change set id; ErrNoBackup when there is none.
func (h *Host) Backup(id string) (Manifest, error) { return h.readManifest(id) }

// Files counts the files and links of a change set (not its folders).
func (m Manifest) Files() int {
	n := 0
	for _, e := range m.Entries {
		if e.Kind != KindDir {
			n++
		}
	}
	return n
}
