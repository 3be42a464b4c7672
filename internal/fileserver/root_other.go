//go:build !linux

package fileserver

import (
	"os"
	"path/filepath"
	"strings"
)

// root is the served directory. Without openat2(2) the check that a path
// stays inside it is done in user space: the path is resolved, symbolic
// links included, and must still lie beneath the root (a link swapped in
// between the check and the open can escape; Linux builds have no such
// window).
type root struct {
	dir string // the directory, its symbolic links resolved
}

// openRoot opens dir as the root to serve.
func openRoot(dir string) (*root, error) {
	abs, err := filepath.Abs(dir)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs)
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, &os.PathError{Op: "open", Path: dir, Err: os.ErrInvalid}
	}
	return &root{dir: abs}, nil
}

// Close releases the root; it holds nothing open.
func (r *root) Close() error { return nil }

// openBeneath opens rel read-only beneath the root, or returns errOutside
// when it resolves outside.
func (r *root) openBeneath(rel string) (*os.File, error) {
	full, err := filepath.EvalSymlinks(filepath.Join(r.dir, filepath.FromSlash(rel)))
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: rel, Err: os.ErrNotExist}
	}
	if full != r.dir && !strings.HasPrefix(full, r.dir+string(filepath.Separator)) {
		return nil, errOutside
	}
	return os.Open(full)
}
