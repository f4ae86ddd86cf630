package spec

import (
	"reflect"
	"strings"
)

// Field is one spec field: its config key and its flag name.
type Field struct {
	Key  string
	Flag string
	idx  int
}

// Fields lists every field of Spec.
func Fields() []Field {
	t := reflect.TypeOf(Spec{})
	out := make([]Field, 0, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		out = append(out, Field{Key: strings.Split(f.Tag.Get("yaml"), ",")[0], Flag: f.Tag.Get("flag"), idx: i})
	}
	return out
}

// Keys lists the config-file keys.
func Keys() []string {
	var out []string
	for _, f := range Fields() {
		out = append(out, f.Key)
	}
	return out
}

// CopyFlag sets dst's field for flag name to src's value: how flags given on
// the command line override a config file. It reports whether the flag names
// a spec field.
func CopyFlag(dst *Spec, src *Spec, flag string) bool {
	for _, f := range Fields() {
		if f.Flag == flag {
			reflect.ValueOf(dst).Elem().Field(f.idx).Set(reflect.ValueOf(src).Elem().Field(f.idx))
			return true
		}
	}
	return false
}
