package core

import (
	"errors"
	"fmt"
	"io"
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

// UndeliveredError is the error of a DoubleSplice (or of one direction of a
// Proxy) that ended early, by cancellation, Engine.Close, IdleTimeout or a
// failure of its destination, while it held bytes it had taken from its
// source and not yet delivered to its destination. Nothing is lost: they
// are in Data, in order, and Dst is where they were going. The count the
// call returned is what reached Dst; Data follows it in the stream, so the
// source's bytes consumed are that count plus len(Data).
//
// It unwraps to the reason the transfer ended, so errors.Is(err,
// context.Canceled) and the like work as they do without it.
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

// Undelivered returns every *UndeliveredError in err's tree: one for a
// DoubleSplice, up to one per direction for a Proxy, none when nothing was
// held back.
func Undelivered(err error) []*UndeliveredError {
	var out []*UndeliveredError
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case nil:
		case *UndeliveredError:
			out = append(out, e)
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
