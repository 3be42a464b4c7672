//go:build linux

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/kpipe/kpipe"
)

// gzipSuffixes maps the suffixes gunzip recognises to what replaces them.
var gzipSuffixes = []struct{ suffix, replacement string }{
	{".gz", ""},
	{".tgz", ".tar"},
}

// maxNameLen is the longest file name Linux file systems take.
const maxNameLen = 255

// runGunzip is `kpipe gunzip [FLAGS] [FILE]`.
func runGunzip(args []string) error {
	fs := newFlags("gunzip", "[-k] [-f] [-N] [-c] [FILE]", `
Decompress gzip data with zlib, from descriptor to descriptor: every member
until the end of the input, each checked against its CRC-32 and size.

Without FILE, or with "-", decompress standard input to standard output.

With FILE, like gzip -d: write FILE without its .gz suffix (.tgz becomes
.tar), with FILE's mode and times; then remove FILE unless -k. An existing
output is never replaced without -f. The output is written under a
temporary name next to it and renamed into place once complete, so corrupt
or truncated input leaves nothing behind. -c writes to standard output and
keeps FILE.

-N names the output after the name stored in the header, and gives it the
stored time. The name is only ever used as a plain file name in the
current directory: a stored name that is a path or not a plain name (with a
"/", ".", "..", empty, control characters, too long) is refused with a
warning, and the output is named as without -N.`)
	keep := fs.Bool("k", false, "keep FILE")
	force := fs.Bool("f", false, "overwrite an existing output; follow a symbolic link")
	restoreName := fs.Bool("N", false, "name the output after the name stored in the header, in the current directory")
	toStdout := fs.Bool("c", false, "write to standard output and keep FILE")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usagef("want at most one FILE, got %d", fs.NArg())
	}
	if fs.NArg() == 0 || fs.Arg(0) == "-" {
		if _, err := kpipe.Gunzip(os.Stdout, os.Stdin, nil); err != nil {
			if stdoutGone(err) {
				return errReported
			}
			return fmt.Errorf("standard input: %w", describeGunzipError(err))
		}
		return nil
	}

	file := fs.Arg(0)
	outName, ok := stripGzipSuffix(file)
	if !ok && !*toStdout {
		return fmt.Errorf("%s: unknown suffix (want .gz or .tgz)", file)
	}
	in, fi, err := openInput(file, *force)
	if err != nil {
		return err
	}
	defer in.Close()
	if *toStdout {
		if _, err := kpipe.Gunzip(os.Stdout, in, nil); err != nil {
			if stdoutGone(err) {
				return errReported
			}
			return fmt.Errorf("%s: %w", file, describeGunzipError(err))
		}
		return nil
	}
	atime, mtime := fileTimes(fi)
	if *restoreName {
		hdr, err := readGzipHeader(in)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		if hdr.Name != "" {
			if name := headerBytes(hdr.Name); plainFileName(name) {
				outName = name
			} else {
				warnf("gunzip", "%s: the stored name %q is not a plain file name; writing %s instead", file, name, outName)
			}
		}
		if !hdr.ModTime.IsZero() {
			mtime = hdr.ModTime
		}
	}
	if err := checkNotInput(outName, fi); err != nil {
		return err
	}
	out, err := createPending(outName, *force)
	if err != nil {
		return err
	}
	if _, err := kpipe.Gunzip(out, in, nil); err != nil {
		out.abort()
		return fmt.Errorf("%s: %w", file, describeGunzipError(err))
	}
	if err := out.commit(fi.Mode().Perm(), atime, mtime); err != nil {
		return err
	}
	if !*keep {
		return os.Remove(file)
	}
	return nil
}

// stripGzipSuffix returns name without its gzip suffix, and false when it
// has none that gunzip recognises.
func stripGzipSuffix(name string) (string, bool) {
	for _, s := range gzipSuffixes {
		if base, ok := strings.CutSuffix(name, s.suffix); ok && filepath.Base(base) != "" && !strings.HasSuffix(base, "/") {
			return base + s.replacement, true
		}
	}
	return "", false
}

// readGzipHeader reads the header of the first gzip member of in and
// rewinds in to its start. It decompresses at most one byte, into nothing:
// enough for the library to have parsed the header, and to fail on input
// that is not gzip data before any output exists.
func readGzipHeader(in *os.File) (kpipe.GzipHeader, error) {
	var hdr kpipe.GzipHeader
	_, err := kpipe.Codec{MaxOutput: 1}.Gunzip(io.Discard, in, &hdr)
	if err != nil && !errors.Is(err, kpipe.ErrTooLarge) {
		return hdr, describeGunzipError(err)
	}
	if _, err := in.Seek(0, io.SeekStart); err != nil {
		return hdr, err
	}
	return hdr, nil
}

// plainFileName reports whether name, as stored in a gzip header, can be
// used as the name of a file in the current directory: one path element,
// not "." or "..", without NUL or other control characters, and not too
// long. Anything else could write outside the current directory or
// mislead whoever reads the name.
func plainFileName(name string) bool {
	if name == "" || name == "." || name == ".." || len(name) > maxNameLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c == '/' || c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// describeGunzipError adds to the library's errors what they mean for a
// user holding a file.
func describeGunzipError(err error) error {
	switch {
	case errors.Is(err, kpipe.ErrHeader):
		return fmt.Errorf("not in gzip format (%w)", err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("unexpected end of file: truncated or empty gzip data (%w)", err)
	}
	return err
}
