package grub

import (
	"fmt"
	"strings"
)

// Key is a kernel argument's key: the text before the first "=", or the
// whole argument for a bare flag such as "quiet".
func Key(arg string) string {
	k, _, _ := strings.Cut(arg, "=")
	return k
}

// removes reports whether remove entry r takes argument a away: a bare r
// ("pci") removes the key with any value, "k=v" only that exact argument.
func removes(r, a string) bool {
	if strings.Contains(r, "=") {
		return a == r
	}
	return Key(a) == r
}

// ValidateArg checks that a is one kernel argument that can be written into
// any shell quoting and any boot entry unchanged.
func ValidateArg(a string) error {
	if a == "" {
		return fmt.Errorf("an empty kernel argument")
	}
	for _, c := range []byte(a) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"'$`\\;&|<>()#*?[]{}~!", c) >= 0 {
			return fmt.Errorf("%q is not one plain kernel argument (it holds %q)", a, c)
		}
	}
	if Key(a) == "" {
		return fmt.Errorf("%q has no key before its =", a)
	}
	return nil
}

// op is one change to a token list.
type op struct {
	kind  int // opReplace, opDelete
	index int
	text  string
}

const (
	opReplace = iota
	opDelete
)

// planArgs works out how to get from tokens to the wanted arguments: for each
// argument in add, the first token with its key is set to it and the other
// tokens with that key go; a key not there is appended. Tokens matching
// remove go. It returns the operations on existing tokens (by index) and what
// to append, in order.
func planArgs(tokens, add, remove []string) (ops []op, appendArgs []string) {
	gone := make([]bool, len(tokens))
	for i, t := range tokens {
		for _, r := range remove {
			if removes(r, t) {
				gone[i] = true
			}
		}
	}
	set := map[int]string{}
	for _, a := range add {
		k, found := Key(a), false
		for i, t := range tokens {
			if gone[i] || Key(t) != k {
				continue
			}
			if !found {
				found = true
				if t != a {
					set[i] = a
				}
				continue
			}
			gone[i] = true
		}
		if !found {
			dup := false
			for _, x := range appendArgs {
				dup = dup || Key(x) == k
			}
			if !dup {
				appendArgs = append(appendArgs, a)
			}
		}
	}
	for i := range tokens {
		switch {
		case gone[i]:
			ops = append(ops, op{kind: opDelete, index: i})
		case set[i] != "":
			ops = append(ops, op{kind: opReplace, index: i, text: set[i]})
		}
	}
	return ops, appendArgs
}

// ApplyArgs returns tokens changed as planArgs says; the input is not changed.
func ApplyArgs(tokens, add, remove []string) []string {
	ops, app := planArgs(tokens, add, remove)
	out := append([]string(nil), tokens...)
	del := map[int]bool{}
	for _, o := range ops {
		if o.kind == opDelete {
			del[o.index] = true
		} else {
			out[o.index] = o.text
		}
	}
	res := out[:0:0]
	for i, t := range out {
		if !del[i] {
			res = append(res, t)
		}
	}
	return append(res, app...)
}

// Holds reports whether tokens already have every argument of add (the
// value of its key, once) and nothing remove takes away.
func Holds(tokens, add, remove []string) bool {
	ops, app := planArgs(tokens, add, remove)
	return len(ops) == 0 && len(app) == 0
}

// Missing compares running arguments (/proc/cmdline) with what is wanted:
// the arguments of add not there as whole tokens, and the tokens that remove
// takes away or that give a wanted key another value. Repeats of a wanted
// argument are fine: the kernel reads the same value twice.
func Missing(tokens, add, remove []string) (missing, unwanted []string) {
	have, want, keys := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, t := range tokens {
		have[t] = true
	}
	for _, a := range add {
		want[a], keys[Key(a)] = true, true
		if !have[a] {
			missing = append(missing, a)
		}
	}
	for _, t := range tokens {
		bad := keys[Key(t)] && !want[t]
		for _, r := range remove {
			bad = bad || removes(r, t) && !want[t]
		}
		if bad {
			unwanted = append(unwanted, t)
		}
	}
	return missing, unwanted
}
