// Command filecopy copies a file through a kernel pipe with splice(2), the
// way the "Zero-Copy. Transfer Data Faster In Ruby" article does with
// io_splice: the data goes from the source file into a pipe and from the
// pipe into the destination file without ever entering the program's memory.
//
// Usage:
//
//	go run ./examples/filecopy SRC DST
//
// DST is created, or truncated if it exists, with mode 0644 before the umask.
// Both files must be ones the kernel can splice: regular files and most
// devices are, but sources without splice support (most files under /proc)
// fail with "invalid argument" (EINVAL), which kpipe.Copy would handle by
// falling back to a buffered copy.
//
// On success filecopy prints the number of bytes copied; on failure it prints
// the error on standard error and exits with status 1 (2 for a usage error).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/kpipe/kpipe"
)

// pipeSize is the capacity filecopy asks for its pipe. The kernel may grant
// less (unprivileged processes are limited by /proc/sys/fs/pipe-max-size);
// the copy then runs with the default capacity.
const pipeSize = 1 << 20

// main runs the program on the command line's arguments and exits with its
// status.
func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole program: it copies args[0] to args[1], reports to stdout
// and stderr, and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) != 2 {
		fmt.Fprintln(stderr, "usage: filecopy SRC DST")
		return 2
	}
	n, err := copyFile(args[1], args[0])
	if err != nil {
		fmt.Fprintf(stderr, "filecopy: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "copied %d bytes from %s to %s\n", n, args[0], args[1])
	return 0
}

// copyFile copies the file named src to a file named dst, creating or
// truncating dst, and returns the number of bytes copied. The source is
// opened first, so that a missing source leaves dst untouched.
func copyFile(dst, src string) (n int64, err error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	if fi, err := in.Stat(); err != nil {
		return 0, err
	} else if fi.IsDir() {
		return 0, fmt.Errorf("%s is a directory", src)
	}
	out, err := os.Create(dst)
	if err != nil {
		return 0, err
	}
	defer func() {
		if cerr := out.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	n, err = spliceCopy(out, in)
	if err != nil {
		return n, fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	return n, nil
}

// spliceCopy moves everything from src to dst through a kpipe.Pipe in the
// middle, the loop of the Ruby article: splice as much as the pipe holds
// from src into the pipe, then splice that much from the pipe into dst, until
// src reports end of input.
func spliceCopy(dst, src *os.File) (int64, error) {
	p, err := kpipe.NewPipe()
	if err != nil {
		return 0, err
	}
	defer p.Close()
	capacity, err := p.SetCap(pipeSize)
	if err != nil {
		// Refused (pipe limits): keep the capacity the pipe has.
		if capacity, err = p.Cap(); err != nil {
			return 0, err
		}
	}
	var total int64
	for {
		// First pull as many bytes as the pipe can hold.
		nread, err := kpipe.Splice(p, src, int64(capacity))
		if err != nil {
			return total, fmt.Errorf("splice into pipe: %w", err)
		}
		if nread == 0 {
			return total, nil // end of the source file
		}
		// Then move the pipe's contents into the destination file.
		for left := nread; left > 0; {
			nw, err := kpipe.Splice(dst, p, left)
			if err != nil {
				return total, fmt.Errorf("splice out of pipe: %w", err)
			}
			if nw == 0 {
				return total, errors.New("splice out of pipe: pipe ran dry")
			}
			left -= nw
			total += nw
		}
	}
}
