package grub

import (
	"errors"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/engine"
)

func TestEditArgs(t *testing.T) {
	intel := []string{"intel_iommu=on", "iommu=pt"}
	for _, tc := range []struct {
		name        string
		in, want    string
		add, remove []string
	}{
		{"add to double quotes", `GRUB_CMDLINE_LINUX="rhgb quiet"` + "\n", `GRUB_CMDLINE_LINUX="rhgb quiet intel_iommu=on iommu=pt"` + "\n", intel, nil},
		{"add to empty", "A=1\nGRUB_CMDLINE_LINUX=\"\"\nB=2\n", "A=1\nGRUB_CMDLINE_LINUX=\"intel_iommu=on iommu=pt\"\nB=2\n", intel, nil},
		{"add to single quotes, comment kept", "GRUB_CMDLINE_LINUX='quiet' # mine\n", "GRUB_CMDLINE_LINUX='quiet intel_iommu=on iommu=pt' # mine\n", intel, nil},
		{"add to unquoted", "export GRUB_CMDLINE_LINUX=quiet\n", "export GRUB_CMDLINE_LINUX=\"quiet intel_iommu=on iommu=pt\"\n", intel, nil},
		{"add to bare empty", "GRUB_CMDLINE_LINUX=\n", "GRUB_CMDLINE_LINUX=\"intel_iommu=on iommu=pt\"\n", intel, nil},
		{"replace off with on", `GRUB_CMDLINE_LINUX="intel_iommu=off quiet"` + "\n", `GRUB_CMDLINE_LINUX="intel_iommu=on quiet iommu=pt"` + "\n", intel, nil},
		{"iommu=ptx is another value of iommu", `GRUB_CMDLINE_LINUX="iommu=ptx quiet"` + "\n", `GRUB_CMDLINE_LINUX="iommu=pt quiet"` + "\n", []string{"iommu=pt"}, nil},
		{"no duplicates", `GRUB_CMDLINE_LINUX="iommu=pt quiet iommu=pt iommu=soft"` + "\n", `GRUB_CMDLINE_LINUX="iommu=pt quiet"` + "\n", []string{"iommu=pt"}, nil},
		{"bare flag is a key", `GRUB_CMDLINE_LINUX="quiet"` + "\n", `GRUB_CMDLINE_LINUX="quiet splash"` + "\n", []string{"quiet", "splash"}, nil},
		{"remove by key and exact", `GRUB_CMDLINE_LINUX="pci=realloc amd_iommu=on quiet amd_iommu=off"` + "\n", `GRUB_CMDLINE_LINUX="quiet amd_iommu=off iommu=pt"` + "\n", []string{"iommu=pt"}, []string{"pci", "amd_iommu=on"}},
		{"remove the only one, add another", `GRUB_CMDLINE_LINUX="amd_iommu=on"` + "\n", `GRUB_CMDLINE_LINUX="iommu=pt"` + "\n", []string{"iommu=pt"}, []string{"amd_iommu=on"}},
		{"remove last", `GRUB_CMDLINE_LINUX="quiet pci=realloc"` + "\n", `GRUB_CMDLINE_LINUX="quiet"` + "\n", nil, []string{"pci=realloc"}},
		{"self reference appends to the last", "GRUB_CMDLINE_LINUX=\"rhgb\"\nGRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX quiet\"\n", "GRUB_CMDLINE_LINUX=\"rhgb\"\nGRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX quiet iommu=pt\"\n", []string{"iommu=pt"}, nil},
		{"self reference: replace in the earlier line", "GRUB_CMDLINE_LINUX=\"iommu=soft\"\nGRUB_CMDLINE_LINUX=\"${GRUB_CMDLINE_LINUX} quiet\"\n", "GRUB_CMDLINE_LINUX=\"iommu=pt\"\nGRUB_CMDLINE_LINUX=\"${GRUB_CMDLINE_LINUX} quiet\"\n", []string{"iommu=pt"}, nil},
		{"later plain assignment wins", "GRUB_CMDLINE_LINUX=\"$(foo)\"\nGRUB_CMDLINE_LINUX=\"quiet\"\n", "GRUB_CMDLINE_LINUX=\"$(foo)\"\nGRUB_CMDLINE_LINUX=\"quiet iommu=pt\"\n", []string{"iommu=pt"}, nil},
		{"continuation kept", "GRUB_CMDLINE_LINUX=\"rhgb \\\n  quiet\"\n", "GRUB_CMDLINE_LINUX=\"rhgb \\\n  quiet iommu=pt\"\n", []string{"iommu=pt"}, nil},
		{"missing assignment is added", "GRUB_TIMEOUT=5", "GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX=\"iommu=pt\"\n", []string{"iommu=pt"}, nil},
		{"centos distributor untouched", "GRUB_DISTRIBUTOR=\"$(sed 's, release .*$,,g' /etc/system-release)\"\nGRUB_CMDLINE_LINUX=\"quiet\"\n", "GRUB_DISTRIBUTOR=\"$(sed 's, release .*$,,g' /etc/system-release)\"\nGRUB_CMDLINE_LINUX=\"quiet iommu=pt\"\n", []string{"iommu=pt"}, nil},
		{"conditional on another variable is fine", "if [ -x /x ]; then\n  GRUB_TERMINAL=serial\nfi\nGRUB_CMDLINE_LINUX=\"\"\n", "if [ -x /x ]; then\n  GRUB_TERMINAL=serial\nfi\nGRUB_CMDLINE_LINUX=\"iommu=pt\"\n", []string{"iommu=pt"}, nil},
		{"no-op", "GRUB_CMDLINE_LINUX=\"intel_iommu=on quiet iommu=pt\" # x\n", "GRUB_CMDLINE_LINUX=\"intel_iommu=on quiet iommu=pt\" # x\n", intel, []string{"pci"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := EditArgs([]Source{{DefaultGrub, []byte(tc.in)}}, CmdlineVar, tc.add, tc.remove)
			if err != nil {
				t.Fatal(err)
			}
			got := tc.in
			if len(e.Files) > 0 {
				got = string(e.Files[0].Data)
			}
			if got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
			if (tc.in == tc.want) != (len(e.Files) == 0) {
				t.Errorf("files changed: %d", len(e.Files))
			}
		})
	}
}

func TestEditArgsRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, in, msg string
		line          int
	}{
		{"command substitution", "A=1\nGRUB_CMDLINE_LINUX=\"quiet $(cat /x)\"\n", "$(cat /x)", 2},
		{"backticks", "GRUB_CMDLINE_LINUX=`cat /x`\n", "`cat /x`", 1},
		{"unknown variable", "GRUB_CMDLINE_LINUX=\"$EXTRA quiet\"\n", "$EXTRA", 1},
		{"self reference without base", "GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX quiet\"\n", "environment", 1},
		{"conditional", "GRUB_CMDLINE_LINUX=\"quiet\"\nif [ -e /x ]; then\n GRUB_CMDLINE_LINUX=\"rhgb\"\nfi\n", "conditional", 3},
		{"one-line conditional", "GRUB_CMDLINE_LINUX=\"quiet\"\n[ -e /x ] && GRUB_CMDLINE_LINUX=\"rhgb\"\n", "does not interpret", 2},
		{"continued conditional", "GRUB_CMDLINE_LINUX=\"quiet\"\n[ -e /x ] &&\n GRUB_CMDLINE_LINUX=\"rhgb\"\n", "does not interpret", 2},
		{"sourcing", "GRUB_CMDLINE_LINUX=\"quiet\"\n. /etc/more\n", "other shell code", 2},
		{"glued self reference", "GRUB_CMDLINE_LINUX=\"a\"\nGRUB_CMDLINE_LINUX=\"x$GRUB_CMDLINE_LINUX\"\n", "glued", 2},
		{"default expansion", "GRUB_CMDLINE_LINUX=\"${X:-quiet}\"\n", "${X:-quiet}", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := EditArgs([]Source{{DefaultGrub, []byte(tc.in)}}, CmdlineVar, []string{"iommu=pt"}, nil)
			var ge *Error
			if !errors.As(err, &ge) || !errors.Is(err, ErrCannotEdit) || !engine.IsBadInput(err) {
				t.Fatalf("err = %v, want a bad-input ErrCannotEdit", err)
			}
			if ge.Line != tc.line || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %v, want line %d and %q", err, tc.line, tc.msg)
			}
		})
	}
}

func TestEditArgsDropins(t *testing.T) {
	main := Source{DefaultGrub, []byte("GRUB_CMDLINE_LINUX=\"quiet\"\nGRUB_CMDLINE_LINUX_DEFAULT=\"splash\"\n")}
	cloud := Source{"/etc/default/grub.d/50-cloudimg-settings.cfg", []byte("GRUB_CMDLINE_LINUX_DEFAULT=\"console=tty1 console=ttyS0\"\n")}
	// The drop-in does not set GRUB_CMDLINE_LINUX: the main file is edited.
	e, err := EditArgs([]Source{main, cloud}, CmdlineVar, []string{"iommu=pt"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Files) != 1 || e.Files[0].Path != DefaultGrub || e.Files[0].After != `GRUB_CMDLINE_LINUX="quiet iommu=pt"` {
		t.Fatalf("edits: %+v", e.Files)
	}
	// A drop-in that sets it decides it, so the drop-in is edited.
	late := Source{"/etc/default/grub.d/60-mine.cfg", []byte("# mine\nGRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX intel_iommu=off\"\n")}
	e, err = EditArgs([]Source{main, cloud, late}, CmdlineVar, []string{"intel_iommu=on", "iommu=pt"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Files) != 1 || e.Files[0].Path != late.Path || e.Files[0].Line != 2 ||
		string(e.Files[0].Data) != "# mine\nGRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX intel_iommu=on iommu=pt\"\n" {
		t.Fatalf("edits: %+v", e.Files)
	}
	if strings.Join(e.Before, " ") != "quiet intel_iommu=off" || strings.Join(e.After, " ") != "quiet intel_iommu=on iommu=pt" {
		t.Errorf("value %q -> %q", e.Before, e.After)
	}
	// Removing a token of the main file through the drop-in's self reference.
	e, err = EditArgs([]Source{main, late}, CmdlineVar, nil, []string{"quiet", "intel_iommu"})
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Files) != 2 || string(e.Files[0].Data) != "GRUB_CMDLINE_LINUX=\"\"\nGRUB_CMDLINE_LINUX_DEFAULT=\"splash\"\n" ||
		string(e.Files[1].Data) != "# mine\nGRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX\"\n" {
		t.Fatalf("edits: %+v", e.Files)
	}
	// A conditional in a drop-in after the base is refused with its file.
	cond := Source{"/etc/default/grub.d/70-cond.cfg", []byte("if true; then\nGRUB_CMDLINE_LINUX=x\nfi\n")}
	_, err = EditArgs([]Source{main, cond}, CmdlineVar, []string{"iommu=pt"}, nil)
	if !errors.Is(err, ErrCannotEdit) || !strings.HasPrefix(err.Error(), cond.Path+":2:") {
		t.Fatalf("err = %v", err)
	}
}

func TestApplyArgsMatchesEdit(t *testing.T) {
	tokens := []string{"iommu=ptx", "quiet", "intel_iommu=off", "pci=realloc", "quiet"}
	got := ApplyArgs(tokens, []string{"intel_iommu=on", "iommu=pt", "hugepages=4"}, []string{"pci"})
	if strings.Join(got, " ") != "iommu=pt quiet intel_iommu=on quiet hugepages=4" {
		t.Errorf("got %q", got)
	}
	if Holds(got, []string{"iommu=pt"}, nil) != true || Holds(tokens, []string{"iommu=pt"}, nil) {
		t.Error("Holds")
	}
	m, u := Missing([]string{"iommu=ptx", "intel_iommu=on", "pci=realloc"}, []string{"intel_iommu=on", "iommu=pt"}, []string{"pci"})
	if strings.Join(m, " ") != "iommu=pt" || strings.Join(u, " ") != "iommu=ptx pci=realloc" {
		t.Errorf("Missing = %q, %q", m, u)
	}
}

func TestValidateArg(t *testing.T) {
	for _, bad := range []string{"", "a b", "a\"", "$(x)", "=x", "a;b"} {
		if ValidateArg(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, good := range []string{"intel_iommu=on", "quiet", "crashkernel=1G-4G:192M,4G-64G:256M", "rd.lvm.lv=rhel/root"} {
		if err := ValidateArg(good); err != nil {
			t.Error(err)
		}
	}
}
