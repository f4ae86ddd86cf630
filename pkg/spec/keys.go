package spec

import (
	"fmt"
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

// Asked lists the fields of s that differ from Default, as "key=value" in
// field order: what the spec asks for.
func (s Spec) Asked() []string {
	d := Default()
	sv, dv := reflect.ValueOf(s), reflect.ValueOf(d)
	var out []string
	for _, f := range Fields() {
		a, b := sv.Field(f.idx), dv.Field(f.idx)
		if reflect.DeepEqual(a.Interface(), b.Interface()) {
			continue
		}
		v := a.Interface()
		if l, ok := v.([]string); ok {
			v = strings.Join(l, ",")
		}
		out = append(out, f.Key+"="+fmt.Sprint(v))
	}
	return out
}

// Merge returns base with every field of over that differs from Default
// put over it: what a run asked for, laid over what earlier runs asked for.
func Merge(base, over Spec) Spec {
	d := Default()
	bv, ov, dv := reflect.ValueOf(&base).Elem(), reflect.ValueOf(over), reflect.ValueOf(d)
	for i := 0; i < ov.NumField(); i++ {
		if !reflect.DeepEqual(ov.Field(i).Interface(), dv.Field(i).Interface()) {
			bv.Field(i).Set(ov.Field(i))
		}
	}
	return base
}
