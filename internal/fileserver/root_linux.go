//go:build linux

package fileserver

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

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
