//go:build linux

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// runCp is `kpipe cp SRC DST`.
func runCp(args []string) error {
	fs := newFlags("cp", "[-progress] SRC DST", `
Copy the file SRC to DST with kpipe.Copy: copy_file_range(2) between files,
in the kernel, and sendfile(2) or splice(2) where DST is a socket or a pipe.
When DST is a directory, the copy is DST/<base name of SRC>. The copy gets
SRC's mode bits.

A progress bar (bytes, rate, time left) shows on standard error with
-progress, or by default when standard error is a terminal; -progress=false
turns it off. It reads the progress from the destination's size, never from
the data.`)
	showProgress := fs.Bool("progress", isTerminal(2), "show a progress bar on standard error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usagef("want SRC and DST, got %d arguments", fs.NArg())
	}
	return copyFile(fs.Arg(0), fs.Arg(1), *showProgress)
}

// copyFile copies the file src to dst (or into dst, a directory), with a
// progress bar when showProgress is set. A destination it created is
// removed when the copy fails.
func copyFile(src, dst string, showProgress bool) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	inInfo, err := in.Stat()
	if err != nil {
		return err
	}
	if inInfo.IsDir() {
		return fmt.Errorf("%s: is a directory", src)
	}
	if dstInfo, err := os.Stat(dst); err == nil && dstInfo.IsDir() {
		dst = filepath.Join(dst, filepath.Base(src))
	}
	if dstInfo, err := os.Stat(dst); err == nil && os.SameFile(inInfo, dstInfo) {
		return fmt.Errorf("%s and %s are the same file", src, dst)
	}
	mode := inInfo.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
	created := true
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode.Perm())
	if errors.Is(err, fs.ErrExist) {
		created = false
		out, err = os.OpenFile(dst, os.O_WRONLY|os.O_TRUNC, 0)
	}
	if err != nil {
		return err
	}
	var bar *progress
	if showProgress {
		bar = startProgress(filepath.Base(src), sizeOf(inInfo))
	}
	_, err = meteredCopy(out, in, bar)
	if err == nil {
		if st, serr := out.Stat(); serr == nil && st.Mode().IsRegular() {
			// Mode bits the umask took away, or those of a file that was
			// already there; only for regular files (not /dev/null).
			err = out.Chmod(mode)
		}
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if bar != nil {
		bar.finish(err)
	}
	if err != nil {
		if created {
			os.Remove(dst)
		}
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	return nil
}

// sizeOf returns the size of a regular file, or -1 (unknown) for anything
// else.
func sizeOf(fi os.FileInfo) int64 {
	if fi.Mode().IsRegular() {
		return fi.Size()
	}
	return -1
}

// stdoutGone reports whether err only says that the reader of standard
// output went away (a pipe closed early, as with `| head`): the command
// then stops quietly, as cat(1) does on SIGPIPE.
func stdoutGone(err error) bool {
	return errors.Is(err, syscall.EPIPE)
}
