// Command gzip compresses its standard input to its standard output in the
// gzip format, or with -d decompresses it, the way the compression half of
// Polyphony's "pipes and splice" article does with IO.gzip and IO.gunzip:
// the C zlib loop reads from one descriptor and writes to the other, and
// the data never enters Go's memory.
//
// Usage:
//
//	echo foobar | go run ./examples/gzip | gunzip
//	gzip -c FILE | go run ./examples/gzip -d
//	go run ./examples/gzip -l 9 < FILE > FILE.gz
//
// -l sets the compression level, from 1 (fastest) to 9 (smallest); the
// default is zlib's, 6. -d decompresses every member of its input, as
// gunzip does, and checks each one's CRC and length.
//
// On failure the program prints the error on standard error and exits with
// status 1 (2 for a usage error).
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/kpipe/kpipe"
)

// main runs the program on the command line's arguments with the process's
// standard streams and exits with its status.
func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the whole program. stdin and stdout are the streams it works on
// (the process's own *os.File streams, so that kpipe runs fd to fd);
// stderr gets usage and errors. It returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gzip", flag.ContinueOnError)
	fs.SetOutput(stderr)
	decompress := fs.Bool("d", false, "decompress instead of compressing")
	level := fs.Int("l", kpipe.DefaultCompression, "compression level: 1 (fastest) to 9 (smallest); -1 is zlib's default, 6")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gzip [-d] [-l LEVEL] < INPUT > OUTPUT")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	if *level != kpipe.DefaultCompression && (*level < kpipe.BestSpeed || *level > kpipe.BestCompression) {
		fmt.Fprintf(stderr, "gzip: invalid level %d: want 1 to 9\n", *level)
		return 2
	}

	var err error
	if *decompress {
		_, err = kpipe.Gunzip(stdout, stdin, nil)
	} else {
		_, err = kpipe.Codec{Level: *level}.Gzip(stdout, stdin, nil)
	}
	if err != nil {
		fmt.Fprintf(stderr, "gzip: %v\n", err)
		return 1
	}
	return 0
}
