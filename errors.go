package kpipe

import (
	"errors"
	"os"
	"syscall"
)

// ErrNeedPipe is returned by Splice when neither side is a *Pipe: splice(2)
// needs a pipe on at least one side. Copy moves data between any two
// endpoints.
var ErrNeedPipe = errors.New("kpipe: splice needs a *kpipe.Pipe on one side")

// ErrNoFD is returned when a call that works on file descriptors is given an
// endpoint without one (neither a *Pipe nor a syscall.Conn).
var ErrNoFD = errors.New("kpipe: endpoint has no file descriptor")

// wrapErrno wraps errno in an *os.SyscallError naming the call, so that
// errors.Is(err, syscall.EPIPE) and the like work.
func wrapErrno(call string, errno syscall.Errno) error {
	return os.NewSyscallError(call, errno)
}
