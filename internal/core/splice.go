//go:build linux

package core

import (
	"io"
	"os"
)

// Splice moves data between src and dst with splice(2), without copying it
// through user memory. One side must be a *Pipe (else ErrNeedPipe); the other
// may be a *Pipe, an *os.File, a *net.TCPConn, a *net.UnixConn or any other
// syscall.Conn (else ErrNoFD).
//
// With n > 0, Splice moves up to n bytes in one step, waiting until it can
// move at least one; it returns 0 and a nil error when src is at end of
// input. With n < 0 it keeps moving data in steps of up to -n bytes until src
// reaches end of input and returns the total. With n == 0 it returns 0.
//
// A file's offset advances as with read and write. Waiting parks the
// goroutine in Go's runtime poller and honours the deadlines of the side
// being waited on; descriptors in blocking mode wait as a read or write on
// them would. Errors wrap the errno (errors.Is(err, syscall.EPIPE)).
func Splice(dst io.Writer, src io.Reader, n int64) (int64, error) {
	_, srcIsPipe := src.(*Pipe)
	_, dstIsPipe := dst.(*Pipe)
	if !srcIsPipe && !dstIsPipe {
		return 0, ErrNeedPipe
	}
	var op fdOp
	if !op.src.set(src, false) || !op.dst.set(dst, true) {
		return 0, ErrNoFD
	}
	op.kind = opSplice
	// Hold the non-pipe side first: it is the one most likely to wait.
	op.outerIsSrc = !srcIsPipe || dstIsPipe
	if n >= 0 {
		return op.step(n)
	}
	var total int64
	for {
		m, err := op.step(-n)
		total += m
		if err != nil || m == 0 {
			return total, err
		}
	}
}

// Tee duplicates up to |n| bytes from src to dst with tee(2) without
// consuming them: they stay in src for its next reader. It waits until src
// has data and dst has room, and returns 0 when src is at end of input.
func Tee(dst, src *Pipe, n int64) (int64, error) {
	if n < 0 {
		n = -n
	}
	var op fdOp
	if !op.src.set(src, false) || !op.dst.set(dst, true) {
		return 0, ErrNoFD
	}
	op.kind = opTee
	op.outerIsSrc = true
	return op.step(n)
}

// step runs one splice or tee of up to n bytes.
func (op *fdOp) step(n int64) (int64, error) {
	if n == 0 {
		return 0, nil
	}
	op.n, op.moved, op.eof = n, 0, false
	err := op.run()
	if err == nil && op.eof && op.src.pipe != nil && op.src.pipe.rClosed.Load() {
		// End of input because Close closed the write end under us.
		err = &os.PathError{Op: opNames[op.kind], Path: "kpipe", Err: os.ErrClosed}
	}
	return op.moved, err
}
