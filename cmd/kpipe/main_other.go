//go:build !linux

package main

// The kpipe command is Linux-only: its subcommands exist to show and
// measure what the kernel can do (splice, io_uring, zlib between
// descriptors). The kpipe package itself builds everywhere.

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "kpipe: the kpipe command runs on Linux only; the kpipe package works everywhere")
	os.Exit(1)
}
