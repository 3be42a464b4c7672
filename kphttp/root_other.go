//go:build !linux

package kphttp

import (
	"io/fs"
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

// close releases the root; it holds nothing open.
func (r *root) close() error { return nil }

// open opens rel (a slash-separated path without "..") read-only beneath the
// root, or returns errOutside when it resolves outside. Only directories and
// regular files are opened; anything else, and paths that are not there,
// satisfy errors.Is(err, fs.ErrNotExist).
func (r *root) open(rel string) (*os.File, fileInfo, error) {
	if filepath.Separator != '/' && strings.ContainsRune(rel, filepath.Separator) {
		return nil, fileInfo{}, errOutside // a separator the URL did not have
	}
	full, err := filepath.EvalSymlinks(filepath.Join(r.dir, filepath.FromSlash(rel)))
	if err != nil {
		return nil, fileInfo{}, &os.PathError{Op: "open", Path: rel, Err: os.ErrNotExist}
	}
	if full != r.dir && !strings.HasPrefix(full, r.dir+string(filepath.Separator)) {
		return nil, fileInfo{}, errOutside
	}
	// Checked before the open, which would wait on a FIFO.
	st, err := os.Stat(full)
	if err != nil {
		return nil, fileInfo{}, err
	}
	if !st.Mode().IsRegular() && !st.IsDir() {
		return nil, fileInfo{}, errNotFile
	}
	f, err := os.Open(full)
	if err != nil {
		return nil, fileInfo{}, err
	}
	if st, err = f.Stat(); err != nil {
		f.Close()
		return nil, fileInfo{}, err
	}
	fi := fileInfo{size: st.Size(), modTime: st.ModTime()}
	switch {
	case st.IsDir():
		fi.mode = fs.ModeDir
	case !st.Mode().IsRegular():
		f.Close()
		return nil, fileInfo{}, errNotFile
	}
	return f, fi, nil
}
