package engine

import (
	"context"

	"github.com/photonctl/photonctl/pkg/host"
)

// Rollback undoes change set id under the setup lock: it removes what an
// interrupted run left behind, then host.RollbackWith does the work, running
// commands through env.Run. The state's record of an unfinished step of that
// change set goes: what it owed was undone with it.
func Rollback(ctx context.Context, env *Env, id, who string) (*host.RollbackResult, error) {
	// An unknown id is refused before the lock: it leaves not even a lock
	// file behind.
	if _, err := env.Host.Backup(id); err != nil {
		return nil, err
	}
	lock, err := Acquire(env.Host, who)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	if _, err := env.Host.Sweep(); err != nil {
		return nil, err
	}
	res, err := env.Host.RollbackWith(ctx, id, host.RollbackOptions{Run: func(ctx context.Context, argv ...string) error {
		_, err := env.Run.Run(ctx, argv...)
		return err
	}})
	if err != nil {
		return res, err
	}
	st, err := LoadState(env.Host)
	if err != nil {
		return res, err
	}
	var keep []*Unfinished
	for _, u := range st.Unfinished {
		if u.BackupID != id {
			keep = append(keep, u)
		}
	}
	if len(keep) != len(st.Unfinished) {
		st.Unfinished = keep
		if len(st.PendingReboot) == 0 && len(keep) == 0 {
			err = removeState(env.Host)
		} else {
			err = saveState(env.Host, st)
		}
	}
	return res, err
}
