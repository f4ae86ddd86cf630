// Package templates holds the lab's distro roots: the /etc and /boot files
// of CentOS 7, RHEL 9, Ubuntu 22.04 and Debian 12 hosts, as pkg/hosttree
// text embedded in the binary, that `photonctl lab up --distro` unpacks into
// the lab root. They are only as complete as photonctl's steps need (GRUB
// defaults and config, os-release, network scripts, udev and sysctl folders).
//
// It is product code, shipped in photonctl; the test fixtures are in
// pkg/fixture and testdata/hosts.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"sort"
	"strings"

	"github.com/photonctl/photonctl/pkg/hosttree"
)

//go:embed distros/*.txtar
var distros embed.FS

// Distros lists the distros there is a template for.
func Distros() []string {
	ents, _ := distros.ReadDir("distros")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".txtar"))
	}
	sort.Strings(out)
	return out
}

// Unpack writes the template of distro under dir.
func Unpack(distro, dir string) error {
	b, err := distros.ReadFile("distros/" + distro + ".txtar")
	if err != nil {
		return fmt.Errorf("unknown distro %q; give one of %s", distro, strings.Join(Distros(), ", "))
	}
	if err := hosttree.Unpack(bytes.NewReader(b), dir); err != nil {
		return fmt.Errorf("the %s template: %w", distro, err)
	}
	return nil
}

// Has reports whether there is a template for distro.
func Has(distro string) bool {
	_, err := distros.ReadFile("distros/" + distro + ".txtar")
	return err == nil
}
