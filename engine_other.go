//go:build !linux

package kpipe

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// aLongTimeAgo is a deadline in the past: setting it wakes every waiter.
var aLongTimeAgo = time.Unix(1, 0)

// deadliner is an endpoint whose waits a deadline can end: *os.File,
// net.Conn, *Pipe.
type deadliner interface {
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// pollTransfer is a transfer of the portable backend: a buffered copy on
// the caller's goroutine, which Go's runtime parks while it waits.
// Cancellation and the idle timeout work through the endpoints' deadlines.
type pollTransfer struct {
	src, dst     deadliner // nil when the endpoint has no deadlines
	idle         time.Duration
	engineClosed atomic.Bool // Engine.Close cancelled the transfer

	mu        sync.Mutex // orders the deadline changes
	cancelled bool
	finished  bool // the copy has returned: deadlines are the caller's again
}

// hasFD reports whether x is an endpoint with a file descriptor (or
// handle), as DoubleSplice requires on every platform.
func hasFD(x any) bool {
	switch x.(type) {
	case *Pipe, syscall.Conn:
		return true
	}
	return false
}

// doubleSplice copies src to dst through a pooled buffer: outside Linux
// there is no splice, so the data passes through user memory. Unlike the
// Linux backends it works on the caller's descriptors, so cancellation and
// the idle timeout set their deadlines (and clear them when done).
func (e *Engine) doubleSplice(ctx context.Context, dst io.Writer, src io.Reader) (int64, error) {
	if !hasFD(src) || !hasFD(dst) {
		return 0, ErrNoFD
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	t := &pollTransfer{idle: e.cfg.IdleTimeout}
	t.src, _ = src.(deadliner)
	t.dst, _ = dst.(deadliner)
	if err := e.begin(t); err != nil {
		return 0, err
	}
	defer e.end(t)
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, t.cancel)
		defer stop()
	}
	n, held, err := t.copy(dst, src)
	t.finish()
	switch {
	case err == nil:
		return n, nil
	case ctx.Err() != nil:
		err = ctx.Err()
	case t.engineClosed.Load():
		err = ErrEngineClosed
	case t.idle > 0 && errors.Is(err, os.ErrDeadlineExceeded):
		err = &os.SyscallError{Syscall: "read", Err: ErrIdleTimeout}
	}
	return n, undelivered(err, dst, leftover{data: held})
}

// copy runs bufferedCopy; with an idle timeout, every read and write that
// moves bytes restarts the idle clock. It returns the bytes read and not
// written when the copy ended early.
func (t *pollTransfer) copy(dst io.Writer, src io.Reader) (int64, []byte, error) {
	if t.idle <= 0 {
		return bufferedCopy(dst, src, -1)
	}
	t.touch()
	return bufferedCopy(idleWriter{dst, t}, idleReader{src, t}, -1)
}

// idleReader and idleWriter restart t's idle clock after progress.
type idleReader struct {
	r io.Reader
	t *pollTransfer
}

func (r idleReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	if n > 0 {
		r.t.touch()
	}
	return n, err
}

type idleWriter struct {
	w io.Writer
	t *pollTransfer
}

func (w idleWriter) Write(b []byte) (int, error) {
	n, err := w.w.Write(b)
	if n > 0 {
		w.t.touch()
	}
	return n, err
}

// cancel wakes the transfer's waits for good.
func (t *pollTransfer) cancel() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.finished {
		return
	}
	t.cancelled = true
	t.setDeadlines(aLongTimeAgo)
}

// touch restarts the idle clock after progress, unless the transfer was
// cancelled.
func (t *pollTransfer) touch() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.cancelled {
		t.setDeadlines(time.Now().Add(t.idle))
	}
}

// finish ends the transfer's use of deadlines: the caller's endpoints are
// left without any, and a cancel that comes later does nothing.
func (t *pollTransfer) finish() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.finished = true
	if t.cancelled || t.idle > 0 {
		t.setDeadlines(time.Time{})
	}
}

// setDeadlines sets src's read deadline and dst's write deadline.
func (t *pollTransfer) setDeadlines(d time.Time) {
	if t.src != nil {
		t.src.SetReadDeadline(d)
	}
	if t.dst != nil {
		t.dst.SetWriteDeadline(d)
	}
}

// shutdownWrite leaves endpoints without a CloseWrite method alone: the
// portable build has no shutdown(2) for a generic descriptor.
func shutdownWrite(c syscall.Conn) error {
	return nil
}
