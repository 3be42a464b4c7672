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

// undelivered returns err, a transfer's error from the core, with each of
// the core's undelivered errors made an *UndeliveredError. The core wraps
// them only in errors.Join, which is rebuilt around them.
func undelivered(err error) error {
	_, err = convertUndelivered(err)
	return err
}

// convertUndelivered is undelivered, reporting first whether it changed
// err.
func convertUndelivered(err error) (bool, error) {
	switch e := err.(type) {
	case *core.UndeliveredError:
		return true, &UndeliveredError{Err: e.Err, Dst: e.Dst, Data: e.Data}
	case interface{ Unwrap() []error }:
		inner := e.Unwrap()
		out := make([]error, len(inner))
		changed := false
		for i, x := range inner {
			var c bool
			c, out[i] = convertUndelivered(x)
			changed = changed || c
		}
		if changed {
			return true, errors.Join(out...)
		}
	}
	return false, err
}
