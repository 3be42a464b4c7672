package kpipe

import (
	"io"

	"github.com/kpipe/kpipe/internal/core"
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
//
// Outside Linux Splice returns an error matching errors.ErrUnsupported (see
// Implementation).
func Splice(dst io.Writer, src io.Reader, n int64) (int64, error) {
	return core.Splice(dst, src, n)
}

// Tee duplicates up to |n| bytes from src to dst with tee(2) without
// consuming them: they stay in src for its next reader. It waits until src
// has data and dst has room, and returns 0 when src is at end of input.
//
// Outside Linux Tee returns an error matching errors.ErrUnsupported.
func Tee(dst, src *Pipe, n int64) (int64, error) {
	return core.Tee(dst.core(), src.core(), n)
}
