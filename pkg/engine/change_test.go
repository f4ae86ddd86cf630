package engine

import (
	"reflect"
	"testing"
)

func TestChangeStringAndTyped(t *testing.T) {
	for _, c := range []struct {
		c    Change
		str  string
		kind ChangeKind
	}{
		{FileChange("/etc/default/grub", 6, "a", "b"), "/etc/default/grub:6", KindFile},
		{CommandChange("grub2-mkconfig", "-o", "/boot/grub2/grub.cfg"), "run: grub2-mkconfig -o /boot/grub2/grub.cfg", KindCommand},
		{CommandChange("sh", "-c", "a b"), "run: sh -c 'a b'", KindCommand},
		{SysfsChange("/sys/x/sriov_numvfs", "0", "4"), "/sys/x/sriov_numvfs", KindSysfs},
		{MountChange("/dev/hugepages", "not mounted", "mounted"), "mount: hugetlbfs on /dev/hugepages", KindMount},
		{UnitChange("u.service", []string{"systemctl", "enable", "u.service"}, "disabled", "enabled"), "run: systemctl enable u.service", KindUnit},
		{LinkChange("ens1f0", "vf 0 trust", "off", "on"), "link: ens1f0 vf 0 trust", KindLink},
		// Built the old way, as a bare path: typed by its form.
		{Change{Path: "run: modprobe vfio-pci"}, "run: modprobe vfio-pci", KindCommand},
		{Change{Path: "/sys/bus/pci/devices/0000:03:00.0/driver_override"}, "/sys/bus/pci/devices/0000:03:00.0/driver_override", KindSysfs},
		{Change{Path: "/etc/udev/rules.d/x.rules"}, "/etc/udev/rules.d/x.rules", KindFile},
	} {
		got := typed(c.c)
		if got.Kind != c.kind || got.String() != c.str {
			t.Errorf("%+v: kind %s, %q; want %s, %q", c.c, got.Kind, got.String(), c.kind, c.str)
		}
	}
	if got := typed(Change{Path: "run: modprobe vfio-pci"}); !reflect.DeepEqual(got.Argv, []string{"modprobe", "vfio-pci"}) || got.Path != "" {
		t.Errorf("typed run: %+v", got)
	}
}
