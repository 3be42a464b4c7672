package kpipe

import (
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
//
// Its fields are Err, the reason the transfer ended; Dst, the destination
// the bytes were for; and Data, the bytes taken from the source and not
// delivered.
type UndeliveredError = core.UndeliveredError

// Undelivered returns every *UndeliveredError in err's tree: one for a
// DoubleSplice, up to one per direction for a Proxy, none when nothing was
// held back.
func Undelivered(err error) []*UndeliveredError { return core.Undelivered(err) }

// end returns what the core resolves an endpoint as: a *Pipe's pipe, or x
// itself. Every function that hands a caller's endpoint to the core passes
// it through end.
func end[T any](x T) T {
	if p, ok := any(x).(*Pipe); ok && p != nil {
		if v, ok := any(p.core()).(T); ok {
			return v
		}
	}
	return x
}

// restoreDst makes the Dst of every *UndeliveredError in err the caller's
// endpoint again where the core saw a *Pipe's pipe.
func restoreDst(err error, ends ...io.Writer) error {
	if err == nil {
		return nil
	}
	for _, ue := range core.Undelivered(err) {
		cp, ok := ue.Dst.(*core.Pipe)
		if !ok {
			continue
		}
		for _, e := range ends {
			if p, ok := e.(*Pipe); ok && p != nil && p.core() == cp {
				ue.Dst = p
			}
		}
	}
	return err
}
