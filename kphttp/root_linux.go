//go:build linux

package kphttp

import (
	"io/fs"
	"os"
	"runtime"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// root is the served directory, held open by an O_PATH descriptor: every
// file is opened relative to it, and the kernel refuses any resolution,
// symbolic links included, that would leave it. Renaming or replacing the
// directory's path later does not change what is served.
type root struct {
	fd int
}

// openRoot opens dir as the root to serve. The descriptor is closed by
// close, or when the root becomes garbage.
func openRoot(dir string) (*root, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	r := &root{fd: fd}
	runtime.SetFinalizer(r, (*root).close)
	return r, nil
}

// close closes the root's descriptor; the caller makes sure that no open is
// under way.
func (r *root) close() error {
	runtime.SetFinalizer(r, nil)
	return unix.Close(r.fd)
}

// open opens rel (a slash-separated path without "..") read-only relative to
// the root with openat2(2) and RESOLVE_BENEATH, so that no path (through
// "..", an absolute symbolic link or a /proc magic link) resolves outside
// it; that is errOutside. Only directories and regular files are opened;
// anything else, and paths that are not there, satisfy
// errors.Is(err, fs.ErrNotExist).
func (r *root) open(rel string) (*os.File, fileInfo, error) {
	how := unix.OpenHow{
		// O_NONBLOCK: opening a FIFO must not wait for a writer. It is
		// cleared below from the files that are served.
		Flags:   unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOCTTY | unix.O_NONBLOCK,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
	}
	var fd int
	for {
		var err error
		fd, err = openat2(r.fd, rel, &how)
		if err == nil {
			break
		}
		switch err {
		case syscall.EINTR, syscall.EAGAIN:
			continue // EAGAIN: a concurrent rename; the kernel asks for a retry
		case syscall.EXDEV:
			return nil, fileInfo{}, errOutside
		case syscall.ENOENT, syscall.ENOTDIR, syscall.ELOOP, syscall.ENAMETOOLONG:
			return nil, fileInfo{}, &os.PathError{Op: "open", Path: rel, Err: os.ErrNotExist}
		}
		return nil, fileInfo{}, &os.PathError{Op: "openat2", Path: rel, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, fileInfo{}, &os.PathError{Op: "fstat", Path: rel, Err: err}
	}
	var fi fileInfo
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
	case unix.S_IFDIR:
		fi.mode = fs.ModeDir
	default:
		unix.Close(fd)
		return nil, fileInfo{}, errNotFile
	}
	// A blocking descriptor: os.NewFile then leaves it out of the poller,
	// as os.Open does for regular files.
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFL, 0); err != nil {
		unix.Close(fd)
		return nil, fileInfo{}, &os.PathError{Op: "fcntl", Path: rel, Err: err}
	}
	fi.size = st.Size
	fi.modTime = time.Unix(st.Mtim.Unix())
	runtime.KeepAlive(r) // r.fd stays open until openat2 is done with it
	return os.NewFile(uintptr(fd), rel), fi, nil
}

// openat2 is unix.Openat2 without the allocation of the path's C string
// when the path is short: it is copied to the stack.
func openat2(dirfd int, path string, how *unix.OpenHow) (int, error) {
	var buf [256]byte
	if len(path) >= len(buf) || strings.IndexByte(path, 0) >= 0 {
		return unix.Openat2(dirfd, path, how)
	}
	copy(buf[:], path) // the rest of buf is zero: the terminating NUL
	fd, _, errno := unix.Syscall6(unix.SYS_OPENAT2, uintptr(dirfd), uintptr(unsafe.Pointer(&buf[0])),
		uintptr(unsafe.Pointer(how)), unsafe.Sizeof(*how), 0, 0)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}
