//go:build linux

package main

import (
	"fmt"
	"os"
)

// runCat is `kpipe cat [FILE...]`.
func runCat(args []string) error {
	fs := newFlags("cat", "[-progress] [FILE...]", `
Concatenate the FILEs (standard input when there are none, or for "-") to
standard output with kpipe.Copy: splice(2) into a pipe, sendfile(2) into a
socket, copy_file_range(2) into a file, so that the data never enters the
program.

With -progress, a progress bar like pv's (bytes, rate and, when every input
is a regular file, time left) shows on standard error; it is read from the
file offsets or sizes, never from the data.`)
	showProgress := fs.Bool("progress", false, "show a progress bar on standard error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	names := fs.Args()
	if len(names) == 0 {
		names = []string{"-"}
	}
	var bar *progress
	if *showProgress {
		bar = startProgress("", totalSize(names))
	}
	failed := false
	for _, name := range names {
		err := catFile(name, bar)
		if err == nil {
			continue
		}
		failed = true
		if stdoutGone(err) {
			break
		}
		fmt.Fprintf(os.Stderr, "kpipe cat: %v\n", err)
	}
	var err error
	if failed {
		err = errReported
	}
	if bar != nil {
		bar.finish(err)
	}
	return err
}

// catFile copies the file name ("-": standard input) to standard output.
func catFile(name string, bar *progress) error {
	in := os.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	if _, err := meteredCopy(os.Stdout, in, bar); err != nil {
		if stdoutGone(err) {
			return err
		}
		if name == "-" {
			name = "standard input"
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// totalSize returns the bytes left to read in the files names, or -1 when
// one of them is not a regular file (or cannot be examined).
func totalSize(names []string) int64 {
	var total int64
	for _, name := range names {
		var fi os.FileInfo
		var err error
		if name == "-" {
			fi, err = os.Stdin.Stat()
			if err == nil && fi.Mode().IsRegular() {
				off, ok := fdValue(os.Stdin, fileOffset)
				if !ok {
					return -1
				}
				total += max(fi.Size()-off, 0)
				continue
			}
		} else {
			fi, err = os.Stat(name)
		}
		if err != nil || !fi.Mode().IsRegular() {
			return -1
		}
		total += fi.Size()
	}
	return total
}
