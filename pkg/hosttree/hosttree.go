// Package hosttree reads and writes a host tree kept as one text file: the
// files, folders and symlinks of a host's /etc, /boot, sysfs or procfs. The
// lab's distro roots (pkg/lab/templates) and the test fixtures (pkg/fixture,
// testdata/hosts) are kept this way, because Go module zips reject ':' in
// file names and drop symlinks, and sysfs is full of both.
//
// The format is txtar's, with two additions:
//
//	-- sys/class/net/eth0/address --
//	00:02:c9:fa:c3:50
//	-- sys/class/net/eth0/device -> ../../../devices/pci0000:00/0000:03:00.0 --
//	-- dev/hugepages/ --
//	-- etc/secret (0600) --
//
// A header ending in "/" is a folder, one with " -> " a symlink, and a
// trailing "(0NNN)" sets the mode. Lines before the first header are a
// comment. Paths stay inside the folder a tree is unpacked into. It makes
// lab roots and test hosts, never changes a real host.
package hosttree

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Entry is one path of a tree.
type Entry struct {
	Path   string
	Target string // symlink target
	Dir    bool
	Mode   os.FileMode
	Data   []byte
}

// Parse reads a tree.
func Parse(r io.Reader) ([]Entry, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	var out []Entry
	var cur *Entry
	line := 0
	for sc.Scan() {
		line++
		t := sc.Text()
		if strings.HasPrefix(t, "-- ") && strings.HasSuffix(t, " --") && len(t) > 6 {
			e, err := parseHeader(strings.TrimSpace(t[3 : len(t)-3]))
			if err != nil {
				return nil, fmt.Errorf("host tree line %d: %w", line, err)
			}
			out = append(out, e)
			cur = &out[len(out)-1]
			continue
		}
		if cur == nil {
			continue
		}
		if cur.Dir || cur.Target != "" {
			if strings.TrimSpace(t) != "" {
				return nil, fmt.Errorf("host tree line %d: %s is a folder or link and takes no content", line, cur.Path)
			}
			continue
		}
		cur.Data = append(cur.Data, t...)
		cur.Data = append(cur.Data, '\n')
	}
	return out, sc.Err()
}

func parseHeader(h string) (Entry, error) {
	e := Entry{Mode: 0o644}
	if i := strings.LastIndex(h, " ("); i >= 0 && strings.HasSuffix(h, ")") {
		m, err := strconv.ParseUint(h[i+2:len(h)-1], 8, 32)
		if err != nil {
			return e, fmt.Errorf("bad mode in %q", h)
		}
		e.Mode = os.FileMode(m)
		h = h[:i]
	}
	if p, target, ok := strings.Cut(h, " -> "); ok {
		e.Path, e.Target = p, target
	} else if strings.HasSuffix(h, "/") {
		e.Path, e.Dir = strings.TrimSuffix(h, "/"), true
		if e.Mode == 0o644 {
			e.Mode = 0o755
		}
	} else {
		e.Path = h
	}
	clean := filepath.Clean("/" + e.Path)
	if e.Path == "" || clean == "/" {
		return e, fmt.Errorf("empty path in %q", h)
	}
	e.Path = strings.TrimPrefix(clean, "/")
	return e, nil
}

// Unpack writes a tree under dir.
func Unpack(r io.Reader, dir string) error {
	ents, err := Parse(r)
	if err != nil {
		return err
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		switch {
		case e.Dir:
			if err := os.MkdirAll(p, e.Mode); err != nil {
				return err
			}
		case e.Target != "":
			if err := os.Symlink(e.Target, p); err != nil {
				return err
			}
		default:
			if err := os.WriteFile(p, e.Data, e.Mode); err != nil {
				return err
			}
		}
	}
	return nil
}

// UnpackFile unpacks the tree file at path under dir.
func UnpackFile(path, dir string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := Unpack(bytes.NewReader(b), dir); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
