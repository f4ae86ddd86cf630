package runner

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
)

func TestExecRunsArgvWithCLocale(t *testing.T) {
	out, err := Exec{Env: []string{"LC_ALL=de_DE.UTF-8"}}.Run(context.Background(), "sh", "-c", `printf '%s|%s' "$LC_ALL" "$1"`, "sh", "a b;c")
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "C|a b;c" {
		t.Errorf("got %q: want LC_ALL=C and the argument passed whole", out)
	}
}

func TestExecErrorCarriesCommandStatusAndOutput(t *testing.T) {
	_, err := Exec{}.Run(context.Background(), "sh", "-c", "echo no MMIO >&2; exit 3")
	var re *Error
	if !errors.As(err, &re) || re.ExitCode != 3 {
		t.Fatalf("err = %#v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, `running sh -c 'echo no MMIO >&2; exit 3'`) || !strings.Contains(msg, "exit status 3: no MMIO") {
		t.Errorf("message %q", msg)
	}
}

func TestChrootedRootWithoutToolNamesIt(t *testing.T) {
	root := t.TempDir()
	_, err := Exec{Root: root}.Run(context.Background(), "grub2-mkconfig", "-o", "/boot/grub2/grub.cfg")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "grub2-mkconfig is not installed in root "+root) {
		t.Errorf("err = %v", err)
	}
}

func TestLookPathLooksInsideTheRoot(t *testing.T) {
	root := t.TempDir()
	// Tools are looked up inside the root, never on the machine: a root with
	// update-grub but no sh finds the one and not the other.
	os.MkdirAll(root+"/usr/sbin", 0o755)
	os.WriteFile(root+"/usr/sbin/update-grub", []byte("#!/bin/sh\n"), 0o755)
	p, err := Exec{Root: root}.LookPath("update-grub")
	if err != nil || p != "/usr/sbin/update-grub" {
		t.Errorf("LookPath = %q, %v; want the root's own tool", p, err)
	}
	if _, err := (Exec{Root: root}).LookPath("sh"); !errors.Is(err, ErrNotFound) {
		t.Errorf("found the machine's sh inside an empty root: %v", err)
	}
}

func TestQuote(t *testing.T) {
	if got := Quote([]string{"mlxconfig", "-d", "0000:03:00.0", "-y", "set", "SRIOV_EN=1", "it's"}); got != `mlxconfig -d 0000:03:00.0 -y set SRIOV_EN=1 'it'\''s'` {
		t.Errorf("got %s", got)
	}
}
