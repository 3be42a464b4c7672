//go:build linux

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kpipe/kpipe"
)

// gzipOSUnix is the OS byte of a gzip header written on Unix.
const gzipOSUnix = 3

// runGzip is `kpipe gzip [FLAGS] [FILE]`.
func runGzip(args []string) error {
	fs := newFlags("gzip", "[-l LEVEL] [-name NAME] [-comment TEXT] [-k] [-f] [-c] [FILE]", `
Compress to the gzip format with zlib, from descriptor to descriptor.

Without FILE, or with "-", compress standard input to standard output (not
to a terminal unless -f); the header then holds -name and -comment, if
given, and no time.

With FILE, like gzip(1): write FILE.gz, with FILE's base name (or -name)
and modification time in its header, and FILE's mode and times; then remove
FILE unless -k. An existing output is never replaced without -f. The output
is written under a temporary name next to it and renamed into place once
complete, so a failure leaves nothing behind. -c writes to standard output
and keeps FILE.`)
	level := fs.Int("l", 6, "compression level, 1 (fastest) to 9 (smallest)")
	name := fs.String("name", "", "file name to store in the header (default: FILE's base name)")
	comment := fs.String("comment", "", "comment to store in the header")
	keep := fs.Bool("k", false, "keep FILE")
	force := fs.Bool("f", false, "overwrite an existing output; compress to a terminal; follow a symbolic link")
	toStdout := fs.Bool("c", false, "write to standard output and keep FILE")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *level < kpipe.BestSpeed || *level > kpipe.BestCompression {
		return usagef("-l %d: want a level from 1 to 9", *level)
	}
	if fs.NArg() > 1 {
		return usagef("want at most one FILE, got %d", fs.NArg())
	}
	codec := kpipe.Codec{Level: *level}
	hdr := &kpipe.GzipHeader{Name: headerString(*name), Comment: headerString(*comment), OS: gzipOSUnix}
	if fs.NArg() == 0 || fs.Arg(0) == "-" {
		if isTerminal(1) && !*force {
			return fmt.Errorf("compressed data not written to a terminal; use -f to force it")
		}
		return stdoutErr(codec.Gzip(os.Stdout, os.Stdin, hdr))
	}

	file := fs.Arg(0)
	if strings.HasSuffix(file, ".gz") && !*force && !*toStdout {
		return fmt.Errorf("%s already has the .gz suffix; use -f to compress it again", file)
	}
	in, fi, err := openInput(file, *force)
	if err != nil {
		return err
	}
	defer in.Close()
	if *name == "" {
		hdr.Name = headerString(filepath.Base(file))
	}
	hdr.ModTime = fi.ModTime()
	if *toStdout {
		if isTerminal(1) && !*force {
			return fmt.Errorf("compressed data not written to a terminal; use -f to force it")
		}
		return stdoutErr(codec.Gzip(os.Stdout, in, hdr))
	}
	outName := file + ".gz"
	if err := checkNotInput(outName, fi); err != nil {
		return err
	}
	out, err := createPending(outName, *force)
	if err != nil {
		return err
	}
	if _, err := codec.Gzip(out, in, hdr); err != nil {
		out.abort()
		return fmt.Errorf("%s: %w", file, err)
	}
	atime, mtime := fileTimes(fi)
	if err := out.commit(fi.Mode().Perm(), atime, mtime); err != nil {
		return err
	}
	if !*keep {
		return os.Remove(file)
	}
	return nil
}

// headerString returns the string that makes kpipe.Gzip store the bytes of
// s as they are in a header field, as gzip(1) stores a file name: the
// library writes Name and Comment as Latin-1, so each byte becomes the rune
// of the same value. A name in UTF-8 is thus stored in UTF-8, byte for byte.
func headerString(s string) string {
	r := make([]rune, len(s))
	for i := 0; i < len(s); i++ {
		r[i] = rune(s[i])
	}
	return string(r)
}

// headerBytes undoes headerString: kpipe.Gunzip decodes a header field as
// Latin-1, and the bytes stored are the runes' values.
func headerBytes(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			r = '?' // not from a Latin-1 decoding
		}
		b = append(b, byte(r))
	}
	return string(b)
}

// stdoutErr returns the error of a transfer to standard output, made quiet
// (errReported: exit status 1, no message) when it only says that the
// reader went away.
func stdoutErr(_ int64, err error) error {
	if err != nil && stdoutGone(err) {
		return errReported
	}
	return err
}
