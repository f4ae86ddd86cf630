package mlnx

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// Column names of the configuration table.
const (
	ColDefault = "Default"
	ColCurrent = "Current"
	ColNext    = "Next Boot"
	ColNew     = "New"
)

// Firmware parameters photonctl reads.
const (
	ParamSRIOVEn   = "SRIOV_EN"
	ParamNumVFs    = "NUM_OF_VFS"
	ParamLinkType1 = "LINK_TYPE_P1"
	ParamLinkType2 = "LINK_TYPE_P2"
)

// ErrDevice is a query the tool could not run on the device (it printed
// "-E- ..." and no table): no such device, no permission, mst not started.
var ErrDevice = errors.New("the firmware tool could not open the device")

// ErrNoTable is output without a "Configurations:" table.
var ErrNoTable = errors.New("no firmware configuration table in the output")

// Param is one row of the table.
type Param struct {
	Name string
	// Values by column (ColDefault, ColCurrent, ColNext); a column the
	// output does not have is missing from the map.
	Values map[string]Value
	// Modified is the '*' mlxconfig puts before rows whose next value
	// differs from the default or current one.
	Modified bool
}

// Get returns the value of a column; the zero Value when there is none.
func (p Param) Get(col string) Value { return p.Values[col] }

// Config is what `mlxconfig -d DEV [-e] query` or `mstconfig -d PCI [-e] q`
// printed for one device.
type Config struct {
	DeviceType  string // "ConnectX4LX"
	Name        string // board part number, "MCX4121A-ACA_Ax"
	Description string
	Device      string // as given to -d: "/dev/mst/mt4117_pciconf0", "03:00.0"
	// Columns are the table's value columns in order, e.g.
	// [Default Current Next Boot], or [Next Boot] without -e.
	Columns []string
	Params  map[string]Param
	// Order lists the parameter names as printed.
	Order []string
	// Notes are the lines after the table (the '*' legend, "Device
	// Firmware does not support reading ...", "-E- ..." lines).
	Notes []string
}

// Param returns a parameter and whether the table has it.
func (c *Config) Param(name string) (Param, bool) {
	p, ok := c.Params[name]
	return p, ok
}

// HasColumn reports whether the table has a column.
func (c *Config) HasColumn(col string) bool {
	for _, x := range c.Columns {
		if x == col {
			return true
		}
	}
	return false
}

var (
	deviceNumRe = regexp.MustCompile(`^Device #?\d+:`)
	paramNameRe = regexp.MustCompile(`^[A-Z][A-Za-z0-9_]*(\[\d+(\.\.\d+)?\])?$`)
)

// headerKeys are the device header lines, in the format printOpening in
// mstflint's mlxconfig/mlxcfg_ui.cpp prints them ("%-16s%-16s").
var headerKeys = []string{"Device type:", "Name:", "Description:", "Device:", "PCI device:"}

// ParseConfig reads the output of a firmware configuration query. It takes
// the first device in the output. Rows are split on white space (no value
// holds a space); a row whose values went on to the next line is joined
// with it; a row with more cells than columns keeps the first ones.
func ParseConfig(r io.Reader) (*Config, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	c := &Config{Params: map[string]Param{}}
	var errLines []string
	inTable, seenDevice := false, false
	var pending *Param // a row still short of values
	flush := func() {
		if pending != nil {
			c.add(*pending)
			pending = nil
		}
	}
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), " \t\r")
		t := strings.TrimSpace(line)
		switch {
		case t == "" || strings.Trim(t, "-") == "":
			continue
		case strings.HasPrefix(t, "-E-"):
			errLines = append(errLines, strings.TrimSpace(strings.TrimPrefix(t, "-E-")))
			if inTable {
				c.Notes = append(c.Notes, t)
			}
			continue
		case deviceNumRe.MatchString(t):
			if seenDevice && (inTable || len(c.Params) > 0) {
				flush()
				return c.finish(errLines)
			}
			seenDevice = true
			// "Device #1:" may share the line with the header (old
			// single-line renderings); go on with the rest.
			t = strings.TrimSpace(deviceNumRe.ReplaceAllString(t, ""))
			if t == "" {
				continue
			}
		}
		if strings.HasPrefix(t, "Configurations:") {
			flush()
			inTable = true
			c.Columns = parseColumns(strings.TrimPrefix(t, "Configurations:"))
			continue
		}
		if !inTable {
			c.header(t)
			continue
		}
		if isNote(t) {
			flush()
			c.Notes = append(c.Notes, t)
			continue
		}
		modified := false
		if strings.HasPrefix(t, "*") {
			modified = true
			t = strings.TrimSpace(t[1:])
		}
		f := strings.Fields(t)
		if len(f) == 0 {
			continue
		}
		ncol := len(c.Columns)
		if pending != nil && !modified && len(pending.Values) < ncol && len(f) <= ncol-len(pending.Values) &&
			(!paramNameRe.MatchString(f[0]) || len(f) == ncol-len(pending.Values)) {
			// The rest of a wrapped row.
			for _, v := range f {
				pending.Values[c.Columns[len(pending.Values)]] = ParseValue(v)
			}
			if len(pending.Values) == ncol {
				flush()
			}
			continue
		}
		flush()
		if !paramNameRe.MatchString(f[0]) {
			c.Notes = append(c.Notes, t)
			continue
		}
		p := Param{Name: f[0], Values: map[string]Value{}, Modified: modified}
		for i, v := range f[1:] {
			if i >= ncol {
				break
			}
			p.Values[c.Columns[i]] = ParseValue(v)
		}
		if len(p.Values) < ncol {
			pending = &p
			continue
		}
		c.add(p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the firmware query output: %w", err)
	}
	flush()
	return c.finish(errLines)
}

func (c *Config) add(p Param) {
	if _, dup := c.Params[p.Name]; !dup {
		c.Order = append(c.Order, p.Name)
	}
	c.Params[p.Name] = p
}

func (c *Config) header(t string) {
	for _, k := range headerKeys {
		if !strings.HasPrefix(t, k) {
			continue
		}
		rest := strings.TrimSpace(t[len(k):])
		switch k {
		case "Device type:":
			// Old renderings put "PCI device:" on the same line.
			if i := strings.Index(rest, "PCI device:"); i >= 0 {
				c.Device = strings.TrimSpace(rest[i+len("PCI device:"):])
				rest = strings.TrimSpace(rest[:i])
			}
			c.DeviceType = rest
		case "Name:":
			c.Name = rest
		case "Description:":
			c.Description = rest
		case "Device:", "PCI device:":
			c.Device = rest
		}
		return
	}
}

func (c *Config) finish(errLines []string) (*Config, error) {
	if c.Columns == nil {
		if len(errLines) > 0 {
			return nil, fmt.Errorf("%w: %s", ErrDevice, strings.Join(errLines, "; "))
		}
		return nil, ErrNoTable
	}
	if len(c.Params) == 0 {
		if len(errLines) > 0 {
			return nil, fmt.Errorf("%w: %s", ErrDevice, strings.Join(errLines, "; "))
		}
		return nil, fmt.Errorf("%w: the table has no rows", ErrNoTable)
	}
	return c, nil
}

func isNote(t string) bool {
	for _, p := range []string{"The '*'", "Device Firmware does not support", "Failed to query", "-W-", "-I-"} {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return false
}

// parseColumns reads the column names after "Configurations:".
func parseColumns(s string) []string {
	f := strings.Fields(s)
	var cols []string
	for i := 0; i < len(f); i++ {
		switch f[i] {
		case ColDefault, ColCurrent, ColNew:
			cols = append(cols, f[i])
		case "Next":
			if i+1 < len(f) && f[i+1] == "Boot" {
				i++
			}
			cols = append(cols, ColNext)
		}
	}
	if len(cols) == 0 {
		// "Configurations:" alone: the oldest format has only the next value.
		cols = []string{ColNext}
	}
	return cols
}
