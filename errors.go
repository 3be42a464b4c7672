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

// errFileClosingText is the text of the error an *os.File's RawConn returns
// once the file is closed: internal/poll's ErrFileClosing, which wraps
// nothing (the file's own Read and Write turn it into os.ErrClosed).
const errFileClosingText = "use of closed file"

// closedErr turns the poller's "use of closed file" into an error wrapping
// os.ErrClosed, as os.File's methods do, when one of op's pipe ends or files
// was closed under it.
func (op *fdOp) closedErr(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, os.ErrClosed) {
		return err
	}
	if (op.src.pipe != nil && op.src.pipe.rClosed.Load()) ||
		(op.dst.pipe != nil && op.dst.pipe.wClosed.Load()) {
		return &os.PathError{Op: opNames[op.kind], Path: "kpipe", Err: os.ErrClosed}
	}
	if err.Error() == errFileClosingText {
		return &os.SyscallError{Syscall: opNames[op.kind], Err: os.ErrClosed}
	}
	return err
}
