package core

import (
	"bytes"
	"io"
	"runtime"
)

// GzipWriter implements kpipe.GzipWriter, which documents it.
type GzipWriter struct {
	dst    io.Writer
	level  int
	hdr    GzipHeader
	hasHdr bool
	err    error     // sticky: the first failure, or errWriterClosed
	hold   *gzipHold // the compressor, while a stream runs
}

// gzipHold holds a GzipWriter's compressor where its cleanup can find it.
type gzipHold struct{ state *gzipState }

func (h *gzipHold) release() {
	if h.state != nil {
		h.state.release()
		h.state = nil
	}
}

// errWriterClosed is the error of a write to a closed GzipWriter.
var errWriterClosed = &closedError{}

type closedError struct{}

func (*closedError) Error() string { return "kpipe: write to a closed GzipWriter" }

// InitGzipWriter makes *w, a zero GzipWriter, what kpipe.Codec.NewGzipWriter
// returns.
func (c Codec) InitGzipWriter(w *GzipWriter, dst io.Writer, hdr *GzipHeader) error {
	level, err := c.level()
	if err != nil {
		return err
	}
	w.level = level
	if hdr != nil {
		if _, _, _, err := checkHeader(hdr); err != nil {
			return err
		}
		w.hdr, w.hasHdr = *hdr, true
		w.hdr.Extra = bytes.Clone(hdr.Extra)
	}
	w.dst = dst
	w.hold = new(gzipHold)
	// A writer dropped without Close still gives its C memory back.
	runtime.SetFinalizer(w.hold, (*gzipHold).release)
	return nil
}

// Write implements kpipe.GzipWriter.Write, which documents it.
func (w *GzipWriter) Write(p []byte) (int, error) {
	if err := w.start(); err != nil {
		return 0, err
	}
	return w.check(w.hold.state.write(p))
}

// WriteString implements kpipe.GzipWriter.WriteString, which documents it.
func (w *GzipWriter) WriteString(s string) (int, error) {
	if err := w.start(); err != nil {
		return 0, err
	}
	return w.check(w.hold.state.writeString(s))
}

// check makes a write's error sticky, and passes n and err on.
func (w *GzipWriter) check(n int, err error) (int, error) {
	if err != nil {
		w.fail(err)
	}
	return n, err
}

// Flush implements kpipe.GzipWriter.Flush, which documents it.
func (w *GzipWriter) Flush() error {
	if err := w.start(); err != nil {
		return err
	}
	if err := w.hold.state.flush(); err != nil {
		w.fail(err)
		return err
	}
	return nil
}

// Close implements kpipe.GzipWriter.Close, which documents it.
func (w *GzipWriter) Close() error {
	if w.err == errWriterClosed {
		return nil
	}
	err := w.start()
	if err == nil {
		err = w.hold.state.finish()
	}
	w.release()
	if err != nil {
		w.err = err
		return err
	}
	w.err = errWriterClosed
	return nil
}

// Reset implements kpipe.GzipWriter.Reset, which documents it.
func (w *GzipWriter) Reset(dst io.Writer) {
	w.release()
	w.dst, w.err = dst, nil
}

// start readies the compressor for the stream, on first use.
func (w *GzipWriter) start() error {
	if w.err != nil {
		return w.err
	}
	if w.hold.state != nil {
		return nil
	}
	var hdr *GzipHeader
	if w.hasHdr {
		hdr = &w.hdr
	}
	s, err := newGzipState(w.dst, w.level, hdr)
	if err != nil {
		w.err = err
		return err
	}
	w.hold.state = s
	return nil
}

// fail makes err sticky and gives the compressor back.
func (w *GzipWriter) fail(err error) {
	w.err = err
	w.release()
}

// release gives the compressor back, if w holds one.
func (w *GzipWriter) release() { w.hold.release() }
