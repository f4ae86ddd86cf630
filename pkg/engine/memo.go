package engine

import "sync"

// memo holds what one command learnt of the host once, for every step and
// check that asks again (doctor's SR-IOV checks all want the PF list).
type memo struct {
	mu   sync.Mutex
	vals map[string]memoVal
}

type memoVal struct {
	v   any
	err error
}

// Once returns what f returns, calling it only the first time key is asked
// for in this Env. Only for reads of the host that nothing in the same
// command changes: setup's steps change the host, so they do not use it.
func (e *Env) Once(key string, f func() (any, error)) (any, error) {
	e.memo.mu.Lock()
	defer e.memo.mu.Unlock()
	if e.memo.vals == nil {
		e.memo.vals = map[string]memoVal{}
	}
	if m, ok := e.memo.vals[key]; ok {
		return m.v, m.err
	}
	v, err := f()
	e.memo.vals[key] = memoVal{v, err}
	return v, err
}
