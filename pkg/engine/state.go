package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"time"

	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/spec"
)

// StatePath records a reboot setup asked for.
const StatePath = host.StateDir + "/state.json"

// State is what setup remembers between runs.
type State struct {
	Schema int `json:"schema"`
	// BootID is the boot the reboot was asked in (/proc/sys/kernel/random/boot_id).
	BootID string `json:"boot_id,omitempty"`
	// PendingReboot lists the steps whose changes wait for a reboot.
	PendingReboot []string `json:"pending_reboot,omitempty"`
	// Unfinished lists the steps being applied, each written before it
	// changes anything and cleared once it is done: found by the next run,
	// one says the step was interrupted and what it still owes.
	Unfinished []*Unfinished `json:"unfinished,omitempty"`
	Updated    time.Time     `json:"updated"`
}

// Owed is what applying a step leaves to do besides its files: a reboot,
// commands that must run after the files are written (an initramfs rebuild,
// a udev reload, a unit to enable).
type Owed struct {
	Reboot bool `json:"reboot,omitempty"`
	// Run is what to run, in order, once the files are written.
	Run []host.Command `json:"run,omitempty"`
	// Keep and Links are the files and links those commands rewrite: backed
	// up before they run again.
	Keep  []string `json:"keep,omitempty"`
	Links []string `json:"links,omitempty"`
}

// Ower is a step that says, before applying a plan, what applying it will owe.
// A step that is not an Ower owes a reboot when its plan says so.
type Ower interface {
	Owes(env *Env, p *Plan) Owed
}

// Unfinished is a step in progress and what it owes.
type Unfinished struct {
	Step     string    `json:"step"`
	BackupID string    `json:"backup_id"`
	Since    time.Time `json:"since"`
	Owed
}

// BootID reads the id of the running boot; "" where the host has none.
func BootID(h *host.Host) string {
	s, err := h.ReadString("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return s
}

// LoadState reads the state file; a missing one is the zero State.
func LoadState(h *host.Host) (State, error) {
	var s State
	b, err := h.ReadFile(StatePath)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("%s is damaged (%v); remove it and run setup again", StatePath, err)
	}
	return s, nil
}

// Rebooted reports whether the host rebooted since the state was written.
func (s State) Rebooted(h *host.Host) bool {
	if len(s.PendingReboot) == 0 {
		return false
	}
	now := BootID(h)
	return s.BootID != "" && now != "" && now != s.BootID
}

// Owes reports whether any unfinished step owes a reboot.
func (s State) owesReboot() bool {
	for _, u := range s.Unfinished {
		if u.Reboot {
			return true
		}
	}
	return false
}

// removeState removes the state file: nothing is pending.
func removeState(h *host.Host) error {
	return host.RemoveOwnFile(h, StatePath)
}

// saveState writes the state file. It is photonctl's own, so it is replaced
// atomically without a backup.
func saveState(h *host.Host, s State) error {
	s.Schema = 1
	s.Updated = time.Now().UTC()
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return host.WriteOwnFile(h, StatePath, append(b, '\n'))
}

// AppliedPath keeps what setup last applied: the fields of the host spec
// its successful runs asked for, the last run's winning. Doctor checks
// against it.
const AppliedPath = host.StateDir + "/applied.json"

// Applied is the content of AppliedPath.
type Applied struct {
	Schema  int       `json:"schema"`
	Updated time.Time `json:"updated"`
	// Asked lists the spec's keys these runs set (spec.Asked), for people.
	Asked []string  `json:"asked"`
	Spec  spec.Spec `json:"spec"`
}

// LoadApplied reads what setup last applied; ok is false when setup never
// completed a run on this host.
func LoadApplied(h *host.Host) (s spec.Spec, ok bool, err error) {
	b, err := h.ReadFile(AppliedPath)
	if errors.Is(err, fs.ErrNotExist) {
		return spec.Default(), false, nil
	}
	if err != nil {
		return spec.Default(), false, err
	}
	a := Applied{Spec: spec.Default()}
	if err := json.Unmarshal(b, &a); err != nil {
		return spec.Default(), false, fmt.Errorf("%s is damaged (%v); remove it, or run setup again", AppliedPath, err)
	}
	return a.Spec, true, nil
}

// saveApplied lays the run's spec over what earlier runs applied.
func saveApplied(h *host.Host, run spec.Spec) error {
	prev, had, err := LoadApplied(h)
	if err != nil {
		prev = spec.Default()
	}
	cur := spec.Merge(prev, run)
	if had && reflect.DeepEqual(prev, cur) {
		return nil // a second run of the same spec changes nothing
	}
	a := Applied{Schema: 1, Updated: time.Now().UTC(), Asked: cur.Asked(), Spec: cur}
	b, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return err
	}
	return host.WriteOwnFile(h, AppliedPath, append(b, '\n'))
}
