package kpipe

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
	uringSplice      uringOps = C.KP_URING_SPLICE
	uringTee         uringOps = C.KP_URING_TEE
	uringPollAdd     uringOps = C.KP_URING_POLL_ADD
	uringAsyncCancel uringOps = C.KP_URING_ASYNC_CANCEL
	uringLinkTimeout uringOps = C.KP_URING_LINK_TIMEOUT
	// uringNeeded is what the double-splice engine cannot do without.
	uringNeeded uringOps = C.KP_URING_ALL_NEEDED
)

// errUringOps reports a kernel whose io_uring lacks operations kpipe needs.
var errUringOps = errors.New("kpipe: io_uring lacks splice, poll, cancel or link-timeout support")

var uringProbe struct {
	once sync.Once
	ops  uringOps
	err  error
}

// probeIOUring sets up and tears down a small ring once per process and
// reports which operations it supports. The error wraps the errno with which
// the kernel refused io_uring (EPERM under a seccomp filter or
// kernel.io_uring_disabled, ENOSYS without io_uring) or is errUringOps.
func probeIOUring() (uringOps, error) {
	uringProbe.once.Do(func() {
		var ops C.uint
		if r := C.kp_uring_probe(&ops); r < 0 {
			uringProbe.err = os.NewSyscallError("io_uring_setup", syscall.Errno(-r))
			return
		}
		uringProbe.ops = uringOps(ops)
		if uringProbe.ops&uringNeeded != uringNeeded {
			uringProbe.err = errUringOps
		}
	})
	return uringProbe.ops, uringProbe.err
}

// backendEnv is the environment variable that picks a backend: "poll"
// forces the runtime-poller backend on every Engine; "io_uring" makes
// io_uring the default of engines whose Config leaves Backend empty.
const backendEnv = "KPIPE_BACKEND"

// backendFromEnv returns BackendPoll or BackendIOUring as KPIPE_BACKEND
// says, or "" when it is unset or names neither.
func backendFromEnv() string {
	switch v := os.Getenv(backendEnv); v {
	case BackendPoll, BackendIOUring:
		return v
	}
	return ""
}

// forcePollFromEnv reports whether KPIPE_BACKEND=poll is set.
func forcePollFromEnv() bool {
	return backendFromEnv() == BackendPoll
}
