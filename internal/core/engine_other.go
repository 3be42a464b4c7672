//go:build !linux

package core

import (
	"context"
	"io"
	"syscall"
)

// pollTransfer is a transfer of the portable backend: a buffered copy on
// the caller's goroutine, which Go's runtime parks while it waits.
// Cancellation and the idle timeout work through the endpoints' deadlines.
type pollTransfer struct {
	xferDeadlines
	from io.Reader // the source, until run returns
}

// hasFD reports whether x is an endpoint with a file descriptor (or
// handle), as DoubleSplice requires on every platform.
func hasFD(x any) bool {
	if _, ok := x.(syscall.Conn); ok {
		return true
	}
	_, ok := asPipe(x)
	return ok
}

// prepare readies t for a transfer from src to dst; it reports false when
// either has no descriptor. Outside Linux there is no splice: the transfer
// copies through a pooled buffer, so the data passes through user memory.
func (t *pollTransfer) prepare(_ *Engine, dst io.Writer, src io.Reader) bool {
	if !hasFD(src) || !hasFD(dst) {
		return false
	}
	t.from = src
	return true
}

// run runs the transfer that prepare readied and begin registered,
// unregisters it from e and returns what reached dst and why it ended.
func (t *pollTransfer) run(ctx context.Context, e *Engine, dst io.Writer) (int64, error) {
	n, held, err := t.copy(dst, t.from)
	t.finish()
	e.end(t)
	t.from = nil
	return n, undelivered(t.endErr(ctx, err, "read"), dst, leftover{data: held})
}

// DoubleSplice implements kpipe.Engine.DoubleSplice, which documents it, on
// the portable backend.
func (e *Engine) DoubleSplice(ctx context.Context, dst io.Writer, src io.Reader) (int64, error) {
	return e.pollDoubleSplice(ctx, dst, src)
}

// copy runs bufferedCopy; with an idle timeout, every read and write that
// moves bytes restarts the idle clock. It returns the bytes read and not
// written when the copy ended early.
func (t *pollTransfer) copy(dst io.Writer, src io.Reader) (int64, []byte, error) {
	if t.idle <= 0 {
		return bufferedCopy(dst, src, -1)
	}
	return bufferedCopy(idleWriter{w: dst, t: t}, idleReader{r: src, t: t}, -1)
}

// idleReader and idleWriter restart t's idle clock after progress.
type (
	idleReader struct {
		r io.Reader
		t *pollTransfer
	}
	idleWriter struct {
		w io.Writer
		t *pollTransfer
	}
)

func (r idleReader) Read(b []byte) (int, error) { return r.t.progress(r.r.Read(b)) }

func (w idleWriter) Write(b []byte) (int, error) { return w.t.progress(w.w.Write(b)) }

// progress touches t's idle clock when n > 0, and passes n and err on.
func (t *pollTransfer) progress(n int, err error) (int, error) {
	if n > 0 {
		t.touch()
	}
	return n, err
}

// shutdownWrite leaves endpoints without a CloseWrite method alone: the
// portable build has no shutdown(2) for a generic descriptor.
func shutdownWrite(c syscall.Conn) error {
	return nil
}
