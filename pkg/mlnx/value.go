package mlnx

import (
	"strconv"
	"strings"
)

// Value is one cell of the firmware configuration table: "True(1)",
// "ETH(2)", "4", "N/A", "Array[0..7]".
type Value struct {
	// Raw is the cell as printed.
	Raw string
	// Label is the text before the number in parentheses ("True", "ETH"),
	// or the whole cell when it is not a number.
	Label string
	// Num is the number: the cell itself ("4") or the one in parentheses.
	Num    int64
	HasNum bool
}

// ParseValue reads one cell.
func ParseValue(s string) Value {
	v := Value{Raw: s}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		v.Num, v.HasNum = n, true
		return v
	}
	if i := strings.LastIndexByte(s, '('); i > 0 && strings.HasSuffix(s, ")") {
		if n, err := strconv.ParseInt(s[i+1:len(s)-1], 10, 64); err == nil {
			v.Label, v.Num, v.HasNum = s[:i], n, true
			return v
		}
	}
	v.Label = s
	return v
}

// Known reports whether the cell holds a value (not empty, not "N/A").
func (v Value) Known() bool { return v.Raw != "" && v.Raw != "N/A" }

// Bool reads a True(1)/False(0) cell; ok is false when it is neither.
func (v Value) Bool() (b, ok bool) {
	switch {
	case v.HasNum:
		return v.Num != 0, true
	case strings.EqualFold(v.Label, "true"):
		return true, true
	case strings.EqualFold(v.Label, "false"):
		return false, true
	}
	return false, false
}

// Int reads a numeric cell.
func (v Value) Int() (int64, bool) { return v.Num, v.HasNum }

func (v Value) String() string {
	if v.Raw == "" {
		return "(none)"
	}
	return v.Raw
}
