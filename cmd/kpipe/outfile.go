//go:build linux

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// pendingFile is an output file under construction: it is written under a
// temporary name in the directory of its final name and renamed into place
// only once complete, so that a failure or an interrupt leaves no partial
// output behind, and an existing file is replaced only when asked.
type pendingFile struct {
	*os.File
	final string
	force bool
	stop  chan struct{} // closed when the file is committed or aborted
}

// createPending starts the output file final. Without force it fails at once
// when final exists (and the rename at the end refuses to replace a file that
// appeared meanwhile). An interrupt (SIGINT, SIGTERM, SIGHUP) before commit or
// abort removes the temporary file and exits with status 1.
func createPending(final string, force bool) (*pendingFile, error) {
	if _, err := os.Lstat(final); err == nil && !force {
		return nil, fmt.Errorf("%s already exists; use -f to overwrite it", final)
	}
	dir, base := filepath.Split(final)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".kpipe-*")
	if err != nil {
		return nil, err
	}
	p := &pendingFile{File: f, final: final, force: force, stop: make(chan struct{})}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		defer signal.Stop(sigs)
		select {
		case <-p.stop:
		case sig := <-sigs:
			os.Remove(f.Name())
			fmt.Fprintf(os.Stderr, "kpipe: %v: removed the incomplete %s\n", sig, final)
			os.Exit(exitFailure)
		}
	}()
	return p, nil
}

// commit gives the file mode and the access and modification times atime and
// mtime (zero: left as they are), and renames it to its final name.
func (p *pendingFile) commit(mode fs.FileMode, atime, mtime time.Time) error {
	err := p.Chmod(mode)
	if cerr := p.Close(); err == nil {
		err = cerr
	}
	if err == nil && !mtime.IsZero() {
		err = os.Chtimes(p.Name(), atime, mtime)
	}
	if err == nil {
		err = p.rename()
	}
	if err != nil {
		os.Remove(p.Name())
	}
	close(p.stop)
	return err
}

// rename moves the temporary file to its final name, without replacing an
// existing file unless p.force.
func (p *pendingFile) rename() error {
	if p.force {
		return os.Rename(p.Name(), p.final)
	}
	err := unix.Renameat2(unix.AT_FDCWD, p.Name(), unix.AT_FDCWD, p.final, unix.RENAME_NOREPLACE)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.EEXIST):
		return fmt.Errorf("%s already exists; use -f to overwrite it", p.final)
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOSYS):
		// A file system without RENAME_NOREPLACE: link(2) refuses to
		// replace too.
		if err := os.Link(p.Name(), p.final); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("%s already exists; use -f to overwrite it", p.final)
			}
			return err
		}
		return os.Remove(p.Name())
	}
	return &os.LinkError{Op: "rename", Old: p.Name(), New: p.final, Err: err}
}

// abort closes and removes the temporary file.
func (p *pendingFile) abort() {
	p.Close()
	os.Remove(p.Name())
	close(p.stop)
}

// fileTimes returns the access and modification times of fi.
func fileTimes(fi os.FileInfo) (atime, mtime time.Time) {
	mtime = fi.ModTime()
	atime = mtime
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		atime = time.Unix(st.Atim.Unix())
	}
	return atime, mtime
}

// openInput opens the regular file name for gzip or gunzip. Like gzip(1),
// it refuses a symbolic link unless force, and anything but a regular file.
func openInput(name string, force bool) (*os.File, os.FileInfo, error) {
	lfi, err := os.Lstat(name)
	if err != nil {
		return nil, nil, err
	}
	if lfi.Mode()&fs.ModeSymlink != 0 && !force {
		return nil, nil, fmt.Errorf("%s is a symbolic link; use -f to follow it", name)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s is not a regular file", name)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// checkNotInput fails when out names the same file as the input in.
func checkNotInput(out string, in os.FileInfo) error {
	if fi, err := os.Stat(out); err == nil && os.SameFile(fi, in) {
		return fmt.Errorf("%s is the input file itself", out)
	}
	return nil
}
