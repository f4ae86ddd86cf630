package templates

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Every distro the lab offers unpacks into a root whose os-release names
// that distro and which has the GRUB defaults the grub step edits.
func TestEveryDistroUnpacks(t *testing.T) {
	want := []string{"centos7", "debian12", "rhel9", "ubuntu2204"}
	if got := Distros(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Distros() = %v, want %v", got, want)
	}
	ids := map[string]string{"centos7": `ID="centos"`, "debian12": "ID=debian", "rhel9": `ID="rhel"`, "ubuntu2204": "ID=ubuntu"}
	for _, d := range Distros() {
		t.Run(d, func(t *testing.T) {
			if !Has(d) {
				t.Fatalf("Has(%q) = false", d)
			}
			dir := t.TempDir()
			if err := Unpack(d, dir); err != nil {
				t.Fatal(err)
			}
			osr, err := os.ReadFile(filepath.Join(dir, "etc/os-release"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(osr), ids[d]+"\n") {
				t.Errorf("etc/os-release of %s has no %s line:\n%s", d, ids[d], osr)
			}
			if _, err := os.Stat(filepath.Join(dir, "etc/default/grub")); err != nil {
				t.Errorf("no GRUB defaults: %v", err)
			}
		})
	}
}

func TestUnknownDistro(t *testing.T) {
	if Has("gentoo") {
		t.Fatal("Has(gentoo) = true")
	}
	err := Unpack("gentoo", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), `unknown distro "gentoo"; give one of centos7, debian12, rhel9, ubuntu2204`) {
		t.Fatalf("Unpack(gentoo) = %v", err)
	}
}
