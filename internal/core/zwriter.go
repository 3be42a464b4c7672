package core

import (
	"bytes"
	"io"
	"runtime"
)

// GzipWriter compresses what is written to it into one gzip member on an
// io.Writer, as compress/gzip's Writer does: the push-style counterpart of
// Codec.Gzip, for output that is made piece by piece (an HTTP response, a
// log) rather than read from a source. Flush makes everything written so
// far decodable by the reader at once.
//
// With the C core the compressor is kpipe's engine at Codec.Level. At levels
// 1 to 3 ISA-L (where present) compresses as the bytes come. At levels 4 to
// 9, where libdeflate runs, the writer keeps up to 8 MiB of input in C
// memory and compresses it in one call at Close, as Codec.Gzip does from
// memory, and until then only the header reaches dst; a Flush, or input
// beyond 8 MiB, hands the stream to zlib at the same level, which streams
// from there. The state, about 1 MiB of C memory besides that input, is
// taken from a pool at the first use after NewGzipWriter or Reset and
// given back by Close: close every GzipWriter (Reset also gives back what
// it held). Between those calls Write allocates nothing.
//
// A GzipWriter is not safe for concurrent use.
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

// NewGzipWriter returns a GzipWriter that compresses into dst at c.Level,
// with header hdr as Codec.Gzip writes it (nil: no name, comment or extra
// field, no modification time, OS 3). It writes nothing yet; the header goes
// out with the first Write, Flush or Close. c.Threads and c.MaxOutput do not
// apply: a GzipWriter runs on the caller's thread. An invalid level or
// header is an error (for the header, wrapping ErrHeader).
func (c Codec) NewGzipWriter(dst io.Writer, hdr *GzipHeader) (*GzipWriter, error) {
	w := new(GzipWriter)
	if err := c.InitGzipWriter(w, dst, hdr); err != nil {
		return nil, err
	}
	return w, nil
}

// InitGzipWriter makes *w, a zero GzipWriter, what NewGzipWriter returns.
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

// Write compresses p. The compressed bytes reach dst as the engine makes
// them, not necessarily before Write returns; Flush or Close sends the
// rest. An error from dst is returned, and by every later call.
func (w *GzipWriter) Write(p []byte) (int, error) {
	if err := w.start(); err != nil {
		return 0, err
	}
	n, err := w.hold.state.write(p)
	if err != nil {
		w.fail(err)
	}
	return n, err
}

// WriteString is Write for a string, without copying it.
func (w *GzipWriter) WriteString(s string) (int, error) {
	if err := w.start(); err != nil {
		return 0, err
	}
	n, err := w.hold.state.writeString(s)
	if err != nil {
		w.fail(err)
	}
	return n, err
}

// Flush sends everything written so far to dst as whole deflate blocks (a
// sync flush, zlib's Z_SYNC_FLUSH), so that a reader decodes all of it
// without waiting for more. It costs a few bytes each time; call it when a
// reader is waiting, not after every Write. It does not flush dst itself.
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

// Close writes the rest of the stream (the last deflate block and the gzip
// trailer) to dst and gives the compressor back; it does not close dst.
// Later calls return nil (Close) or an error (the others) until Reset.
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

// Reset discards what w held, without writing anything, and makes it a new
// stream into dst with the same level and header, as if just made by
// NewGzipWriter.
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
