package sriov

import (
	"os"
	"path/filepath"
)

// walk visits every path under root without following symlinks.
func walk(root string, fn func(p string, fi os.FileInfo)) error {
	return filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		fn(p, fi)
		return nil
	})
}
