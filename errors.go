package kpipe

import (
	"errors"
	"fmt"
	"io"

	"github.com/kpipe/kpipe/internal/core"
)

// ErrNeedPipe is returned by Splice when neither side is a *Pipe: splice(2)
// needs a pipe on at least one side. Copy moves data between any two
// endpoints.
var ErrNeedPipe = core.ErrNeedPipe

// ErrNoFD is returned when a call that works on file descriptors is given an
// endpoint without one (neither a *Pipe nor a syscall.Conn).
var ErrNoFD = core.ErrNoFD

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

// Undelivered returns every *UndeliveredError in err's tree: one for a
// DoubleSplice, up to one per direction for a Proxy, none when nothing was
// held back.
func Undelivered(err error) []*UndeliveredError { return core.All[*UndeliveredError](err) }

// endW, endR and endRW return what the core resolves an endpoint as: a
// *Pipe's pipe, or the endpoint itself. Every function that hands a caller's
// endpoint to the core passes it through one of them.
func endW(w io.Writer) io.Writer {
	if p, ok := w.(*Pipe); ok && p != nil {
		return &p.p
	}
	return w
}

func endR(r io.Reader) io.Reader {
	if p, ok := r.(*Pipe); ok && p != nil {
		return &p.p
	}
	return r
}

func endRW(rw io.ReadWriter) io.ReadWriter {
	if p, ok := rw.(*Pipe); ok && p != nil {
		return &p.p
	}
	return rw
}

// undelivered returns err, a transfer's error from the core, with each of
// the core's undelivered errors made an *UndeliveredError whose Dst is the
// caller's endpoint: the *Pipe among ends where the core saw its pipe. The
// core wraps them only in errors.Join, which is rebuilt around them.
func undelivered(err error, ends ...io.Writer) error {
	switch e := err.(type) {
	case *core.UndeliveredError:
		dst := e.Dst
		for _, x := range ends {
			if p, ok := x.(*Pipe); ok && p != nil && dst == io.Writer(p.core()) {
				dst = p
			}
		}
		return &UndeliveredError{Err: e.Err, Dst: dst, Data: e.Data}
	case interface{ Unwrap() []error }:
		inner := e.Unwrap()
		if len(core.Undelivered(err)) == 0 {
			return err
		}
		out := make([]error, len(inner))
		for i, x := range inner {
			out[i] = undelivered(x, ends...)
		}
		return errors.Join(out...)
	}
	return err
}
