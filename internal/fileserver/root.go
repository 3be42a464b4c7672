package fileserver

import (
	"errors"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// errOutside reports a request for a path that leads out of the root.
var errOutside = errors.New("path leads outside the served directory")

// root is the served directory, held open: every file is opened relative to
// it, and the kernel refuses any resolution, symbolic links included, that
// would leave it.
type root struct {
	fd int // O_PATH descriptor of the directory
}

// openRoot opens dir as the root to serve.
func openRoot(dir string) (*root, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	return &root{fd: fd}, nil
}

// Close closes the root's descriptor.
func (r *root) Close() error { return unix.Close(r.fd) }

// open opens the file a URL path names (already percent-decoded), or the
// index.html of the directory it names. It returns errOutside for a ".."
// segment or a link out of the root, and an error satisfying
// errors.Is(err, fs.ErrNotExist) for a file that is not there or is not a
// regular file.
func (r *root) open(urlPath string) (*os.File, os.FileInfo, error) {
	rel := strings.Trim(urlPath, "/")
	for _, seg := range strings.Split(rel, "/") {
		if seg == ".." {
			return nil, nil, errOutside
		}
	}
	if rel == "" {
		rel = "."
	}
	f, err := r.openBeneath(rel)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err == nil && fi.IsDir() {
		f.Close()
		if f, err = r.openBeneath(rel + "/index.html"); err != nil {
			return nil, nil, err
		}
		fi, err = f.Stat()
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, &os.PathError{Op: "open", Path: urlPath, Err: os.ErrNotExist}
	}
	return f, fi, nil
}

// openBeneath opens rel read-only relative to the root with openat2(2) and
// RESOLVE_BENEATH, so that no path (through "..", an absolute symbolic link
// or a /proc magic link) resolves outside it.
func (r *root) openBeneath(rel string) (*os.File, error) {
	how := unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOCTTY,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
	}
	for {
		fd, err := unix.Openat2(r.fd, rel, &how)
		switch {
		case err == nil:
			return os.NewFile(uintptr(fd), rel), nil
		case err == syscall.EINTR || err == syscall.EAGAIN:
			continue // EAGAIN: a concurrent rename; the kernel asks for a retry
		case err == syscall.EXDEV:
			return nil, errOutside
		case err == syscall.ENOTDIR || err == syscall.ELOOP:
			return nil, &os.PathError{Op: "open", Path: rel, Err: os.ErrNotExist}
		}
		return nil, &os.PathError{Op: "openat2", Path: rel, Err: err}
	}
}
