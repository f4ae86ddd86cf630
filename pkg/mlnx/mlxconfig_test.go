package mlnx

import (
	"errors"
	"strings"
	"testing"
)

func mustParse(t *testing.T, name string) *Config {
	t.Helper()
	c, err := ParseConfig(strings.NewReader(output(t, name)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return c
}

func TestParseConfigWithE(t *testing.T) {
	c := mustParse(t, "mlxconfig-query-e-off.txt")
	if c.DeviceType != "ConnectX4LX" || c.Name != "MCX4121A-ACA_Ax" || c.Device != "0000:03:00.0" ||
		!strings.HasPrefix(c.Description, "ConnectX-4 Lx EN network interface card; 25GbE") {
		t.Errorf("header: %+v", c)
	}
	if got := strings.Join(c.Columns, "|"); got != "Default|Current|Next Boot" {
		t.Errorf("columns %q", got)
	}
	if len(c.Order) != 28 || c.Order[0] != "MEMIC_BAR_SIZE" || c.Order[27] != "SAFE_MODE_ENABLE" {
		t.Errorf("order: %d rows, %v", len(c.Order), c.Order)
	}
	en, _ := c.Param(ParamSRIOVEn)
	if b, ok := en.Get(ColDefault).Bool(); !ok || !b {
		t.Errorf("SRIOV_EN default %v", en.Get(ColDefault))
	}
	if b, ok := en.Get(ColCurrent).Bool(); !ok || b || en.Get(ColCurrent).Raw != "False(0)" {
		t.Errorf("SRIOV_EN current %v", en.Get(ColCurrent))
	}
	if !en.Modified {
		t.Error("SRIOV_EN not marked modified")
	}
	n, _ := c.Param(ParamNumVFs)
	if v, ok := n.Get(ColDefault).Int(); !ok || v != 8 {
		t.Errorf("NUM_OF_VFS default %v", n.Get(ColDefault))
	}
	if v, ok := n.Get(ColNext).Int(); !ok || v != 0 {
		t.Errorf("NUM_OF_VFS next %v", n.Get(ColNext))
	}
	if p, _ := c.Param("NUM_OF_PF"); p.Modified {
		t.Error("NUM_OF_PF marked modified")
	}
	long, _ := c.Param("PCI_ATOMIC_MODE")
	if long.Get(ColNext).Label != "PCI_ATOMIC_DISABLED_EXT_ATOMIC_ENABLED" || long.Get(ColCurrent).Num != 0 {
		t.Errorf("long value: %+v", long)
	}
	arr, _ := c.Param("PCI_DOWNSTREAM_PORT_OWNER")
	if arr.Get(ColNext).HasNum || arr.Get(ColNext).Raw != "Array[0..15]" {
		t.Errorf("array value: %+v", arr)
	}
	if _, ok := c.Param("EXP_ROM_UEFI_x86_ENABLE"); !ok {
		t.Error("lower-case letters in a name dropped the row")
	}
	if len(c.Notes) != 1 || !strings.HasPrefix(c.Notes[0], "The '*'") {
		t.Errorf("notes %q", c.Notes)
	}
}

func TestParseConfigNextOnly(t *testing.T) {
	c := mustParse(t, "mlxconfig-query-off.txt")
	if len(c.Columns) != 1 || c.Columns[0] != ColNext || c.HasColumn(ColCurrent) {
		t.Fatalf("columns %v", c.Columns)
	}
	en, _ := c.Param(ParamSRIOVEn)
	if en.Get(ColNext).Raw != "False(0)" || en.Get(ColCurrent).Known() {
		t.Errorf("SRIOV_EN %+v", en)
	}
	if c.Device != "/dev/mst/mt4117_pciconf0" {
		t.Errorf("device %q", c.Device)
	}
}

func TestParseMstconfig(t *testing.T) {
	c := mustParse(t, "mstconfig-q-off.txt")
	lt, ok := c.Param(ParamLinkType1)
	if !ok || lt.Get(ColCurrent).Label != "ETH" || lt.Get(ColCurrent).Num != 2 {
		t.Errorf("LINK_TYPE_P1 %+v", lt)
	}
	if _, ok := c.Param(ParamLinkType2); !ok {
		t.Error("no LINK_TYPE_P2")
	}
	n, _ := c.Param(ParamNumVFs)
	if !n.Modified || n.Get(ColDefault).Num != 8 || n.Get(ColCurrent).Num != 0 {
		t.Errorf("NUM_OF_VFS %+v", n)
	}
	if len(c.Order) != 11 {
		t.Errorf("%d rows", len(c.Order))
	}
}

func TestParseConfigWrapped(t *testing.T) {
	c := mustParse(t, "mlxconfig-query-wrapped.txt")
	n, _ := c.Param(ParamNumVFs)
	if n.Get(ColCurrent).Num != 5 || n.Get(ColNext).Num != 5 || !n.Modified {
		t.Errorf("NUM_OF_VFS %+v", n)
	}
	en, _ := c.Param(ParamSRIOVEn)
	if b, _ := en.Get(ColNext).Bool(); !b || en.Modified {
		t.Errorf("SRIOV_EN %+v", en)
	}
	if k, ok := c.Param("FUTURE_KNOB"); !ok || k.Get(ColNext).Label != "ON" {
		t.Errorf("unknown parameter %+v", k)
	}
	a, _ := c.Param("PCI_ATOMIC_MODE")
	if a.Get(ColNext).Label != "PCI_ATOMIC_DISABLED_EXT_ATOMIC_ENABLED" {
		t.Errorf("wrapped long row %+v", a)
	}
	if strings.Join(c.Order, ",") != "NUM_OF_VFS,SRIOV_EN,FUTURE_KNOB,PCI_ATOMIC_MODE" {
		t.Errorf("order %v", c.Order)
	}
}

func TestParseConfigErrors(t *testing.T) {
	_, err := ParseConfig(strings.NewReader(output(t, "mlxconfig-failed-device.txt")))
	if !errors.Is(err, ErrDevice) || !strings.Contains(err.Error(), "Failed to open the device") {
		t.Errorf("failed device: %v", err)
	}
	for _, in := range []string{"", "garbage\nmore garbage\n", "Device #1:\n----------\nDevice type: ConnectX4LX\n"} {
		if _, err := ParseConfig(strings.NewReader(in)); !errors.Is(err, ErrNoTable) {
			t.Errorf("%q: %v, want ErrNoTable", in, err)
		}
	}
	if _, err := ParseConfig(strings.NewReader("Configurations: Next Boot\nThe '*' shows\n")); !errors.Is(err, ErrNoTable) {
		t.Errorf("empty table: %v", err)
	}
}

func TestParseConfigFirstDeviceOnly(t *testing.T) {
	two := output(t, "mlxconfig-query-e-off.txt") + strings.Replace(output(t, "mlxconfig-query-e-on.txt"), "Device #1:", "Device #2:", 1)
	c, err := ParseConfig(strings.NewReader(two))
	if err != nil {
		t.Fatal(err)
	}
	en, _ := c.Param(ParamSRIOVEn)
	if b, _ := en.Get(ColNext).Bool(); b {
		t.Error("took the second device's values")
	}
}

func TestParseValue(t *testing.T) {
	for _, c := range []struct {
		in    string
		label string
		num   int64
		has   bool
	}{
		{"True(1)", "True", 1, true}, {"ETH(2)", "ETH", 2, true}, {"4", "", 4, true},
		{"N/A", "N/A", 0, false}, {"Array[0..7]", "Array[0..7]", 0, false}, {"x(y)", "x(y)", 0, false},
		{"_256KB(1)", "_256KB", 1, true},
	} {
		v := ParseValue(c.in)
		if v.Label != c.label || v.Num != c.num || v.HasNum != c.has || v.Raw != c.in {
			t.Errorf("%q: %+v", c.in, v)
		}
	}
	if ParseValue("N/A").Known() {
		t.Error("N/A known")
	}
	if _, ok := ParseValue("ETH").Bool(); ok {
		t.Error("ETH is a bool")
	}
}

func FuzzParseConfig(f *testing.F) {
	for _, n := range []string{"mlxconfig-query-e-off.txt", "mlxconfig-query-off.txt", "mstconfig-q-off.txt", "mlxconfig-query-wrapped.txt", "mlxconfig-failed-device.txt"} {
		f.Add(output(f, n))
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseConfig(strings.NewReader(s))
		if err != nil {
			return
		}
		if len(c.Columns) == 0 || len(c.Params) != len(c.Order) || len(c.Params) == 0 {
			t.Fatalf("inconsistent config: %d columns, %d params, %d order", len(c.Columns), len(c.Params), len(c.Order))
		}
		for _, p := range c.Params {
			if len(p.Values) > len(c.Columns) {
				t.Fatalf("%s has %d values for %d columns", p.Name, len(p.Values), len(c.Columns))
			}
		}
	})
}

func BenchmarkParseConfig(b *testing.B) {
	in := output(b, "mlxconfig-query-e-off.txt")
	for b.Loop() {
		if _, err := ParseConfig(strings.NewReader(in)); err != nil {
			b.Fatal(err)
		}
	}
}
