//go:build linux

// Command nouring-run runs a command with io_uring refused as Docker's
// default seccomp profile refuses it (io_uring_setup, io_uring_enter and
// io_uring_register fail with EPERM):
//
//	nouring-run ./kpipe.test -test.count=1
package main

import (
	"fmt"
	"os"

	"github.com/kpipe/kpipe/internal/nouring"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: nouring-run command [args...]")
		os.Exit(2)
	}
	err := nouring.Exec(os.Args[1:], os.Environ())
	fmt.Fprintln(os.Stderr, "nouring-run:", err)
	os.Exit(126)
}
