package core

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// ErrNeedPipe implements kpipe.ErrNeedPipe, which documents it.
var ErrNeedPipe = errors.New("kpipe: splice needs a *kpipe.Pipe on one side")

// ErrNoFD implements kpipe.ErrNoFD, which documents it.
var ErrNoFD = errors.New("kpipe: endpoint has no file descriptor")

// wrapErrno wraps errno in an *os.SyscallError naming the call, so that
// errors.Is(err, syscall.EPIPE) and the like work.
func wrapErrno(call string, errno syscall.Errno) error {
	return os.NewSyscallError(call, errno)
}

// UndeliveredError implements kpipe.UndeliveredError, which documents it.
type UndeliveredError struct {
	Err  error     // why the transfer ended
	Dst  io.Writer // the destination the bytes were for
	Data []byte    // taken from the source, not delivered
}

func (e *UndeliveredError) Error() string {
	return fmt.Sprintf("%v (%d bytes taken from the source were not delivered)", e.Err, len(e.Data))
}

func (e *UndeliveredError) Unwrap() error { return e.Err }

// leftover is what a transfer that ended early held: bytes taken from its
// source and not delivered, and the error of reading them back, if any.
type leftover struct {
	data []byte
	err  error
}

// undelivered wraps err, the error of a transfer to dst that ended holding
// left: bytes taken from its source and not delivered.
func undelivered(err error, dst io.Writer, left leftover) error {
	if err == nil {
		return nil
	}
	if len(left.data) > 0 {
		err = &UndeliveredError{Err: err, Dst: dst, Data: left.data}
	}
	if left.err != nil {
		// Some bytes could not be read back: say so.
		return errors.Join(err, left.err)
	}
	return err
}

// Undelivered implements kpipe.Undelivered, which documents it, for the
// core's own *UndeliveredError.
func Undelivered(err error) []*UndeliveredError { return All[*UndeliveredError](err) }

// All returns every error of type T in err's tree, in depth-first order.
func All[T error](err error) []T {
	var out []T
	var walk func(error)
	walk = func(err error) {
		if e, ok := err.(T); ok {
			out = append(out, e)
			return
		}
		switch e := err.(type) {
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				walk(inner)
			}
		case interface{ Unwrap() error }:
			walk(e.Unwrap())
		}
	}
	walk(err)
	return out
}
