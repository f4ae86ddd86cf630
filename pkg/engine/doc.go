// Package engine runs photonctl setup: a list of steps, each able to say what
// it would change (Check) before it changes it (Apply) and to confirm the
// result (Verify). The engine prints the plan, applies it step by step under
// a host lock, records a reboot a step needs in a state file and picks up
// after it on the next run.
//
// The engine knows nothing about GRUB, VFs or hugepages: those are steps in
// their own packages. It is not for diagnosis either (see package doctor),
// though both share Env.
package engine
