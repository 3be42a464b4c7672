//go:build linux && cgo

package core

// #include "kpipe.h"
import "C"

import (
	"errors"
	"os"
	"sync"
	"syscall"
)

// uringOps is the set of io_uring operations the running kernel supports, as
// bits of the C core's KP_URING_* flags.
type uringOps uint32

const (
	// The operations the double-splice engine submits.
	uringPollAdd     uringOps = C.KP_URING_POLL_ADD
	uringAsyncCancel uringOps = C.KP_URING_ASYNC_CANCEL
	// Operations the probe reports but the engine never submits: it runs
	// the splices itself with splice(2), and links no timeouts.
	uringSplice      uringOps = C.KP_URING_SPLICE
	uringTee         uringOps = C.KP_URING_TEE
	uringLinkTimeout uringOps = C.KP_URING_LINK_TIMEOUT
	// uringNeeded is what the double-splice engine cannot do without: it
	// submits polls and their cancels (POLL_ADD, ASYNC_CANCEL) and nothing
	// else.
	uringNeeded uringOps = C.KP_URING_ALL_NEEDED
)

// errUringOps reports a kernel whose io_uring lacks operations kpipe needs.
var errUringOps = errors.New("kpipe: io_uring lacks poll or cancel support")

var uringProbe struct {
	mu   sync.Mutex
	done bool
	ops  uringOps
	err  error
}

// probeIOUring sets up and tears down a small ring and reports which
// operations it supports. The error wraps the errno with which the kernel
// refused io_uring (EPERM under a seccomp filter or
// kernel.io_uring_disabled, ENOSYS without io_uring) or is errUringOps.
// The answer is kept for the life of the process, unless the process was
// only short of descriptors or memory at the time (EMFILE, ENFILE,
// ENOMEM): the next call then probes again.
func probeIOUring() (uringOps, error) {
	uringProbe.mu.Lock()
	defer uringProbe.mu.Unlock()
	if uringProbe.done {
		return uringProbe.ops, uringProbe.err
	}
	var ops C.uint
	if r := C.kp_uring_probe(&ops); r < 0 {
		errno := syscall.Errno(-r)
		err := os.NewSyscallError("io_uring_setup", errno)
		if errno == syscall.EMFILE || errno == syscall.ENFILE || errno == syscall.ENOMEM {
			return 0, err
		}
		uringProbe.done, uringProbe.err = true, err
		return 0, err
	}
	uringProbe.done, uringProbe.ops = true, uringOps(ops)
	if uringProbe.ops&uringNeeded != uringNeeded {
		uringProbe.err = errUringOps
	}
	return uringProbe.ops, uringProbe.err
}
