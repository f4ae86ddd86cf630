package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"
)

// Suite is the Debian release the guest is built from.
const Suite = "bookworm"

// Image is a built guest image in the cache.
type Image struct {
	Dir  string // the cache folder of this recipe's build
	Disk string // raw disk: MBR, GRUB, one ext4 partition
	Key  string // root's SSH private key
}

// RecipeHash is the hash of every file in the recipe folder (names and
// contents) and the suite: a change to any of them means a new image.
func RecipeHash(recipeDir string) (string, error) {
	names, err := filepath.Glob(filepath.Join(recipeDir, "*"))
	if err != nil {
		return "", err
	}
	sort.Strings(names)
	h := sha256.New()
	fmt.Fprintf(h, "suite %s\n", Suite)
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return "", fmt.Errorf("reading the image recipe: %w", err)
		}
		fmt.Fprintf(h, "%s %d\n", filepath.Base(n), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// EnsureImage returns the cached image for the recipe in recipeDir, building
// it first (about ten minutes) when the cache has none. A failed build
// leaves no half image behind: it is built in a temporary folder and
// renamed into place.
func EnsureImage(ctx context.Context, cacheDir, recipeDir, mirror string, logf func(string, ...any)) (*Image, error) {
	sum, err := RecipeHash(recipeDir)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(cacheDir, "image-"+sum)
	img := &Image{Dir: dir, Disk: filepath.Join(dir, "disk.raw"), Key: filepath.Join(dir, "id_ed25519")}
	if _, err := os.Stat(img.Disk); err == nil {
		logf("image: cached %s", dir)
		return img, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(cacheDir, "building-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	logf("image: building %s from Debian %s (recipe %s)", dir, Suite, sum)
	start := time.Now()
	cmd := exec.CommandContext(ctx, "sh", filepath.Join(recipeDir, "build.sh"), tmp, mirror, Suite)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("building the guest image (%s build.sh): %w\n%s", recipeDir, err, tail(out, 60))
	}
	logf("image: built in %s\n%s", time.Since(start).Round(time.Second), out)
	if err := os.Chmod(filepath.Join(tmp, "id_ed25519"), 0o600); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return nil, err
	}
	return img, nil
}

// tail returns the last n lines of b.
func tail(b []byte, n int) string {
	end := len(b)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' && i != len(b)-1 {
			n--
			if n == 0 {
				return string(b[i+1 : end])
			}
		}
	}
	return string(b)
}
