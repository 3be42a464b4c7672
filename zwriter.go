package kpipe

import (
	"io"

	"github.com/kpipe/kpipe/internal/core"
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
	w core.GzipWriter
}

// NewGzipWriter returns a GzipWriter that compresses into dst at c.Level,
// with header hdr as Codec.Gzip writes it (nil: no name, comment or extra
// field, no modification time, OS 3). It writes nothing yet; the header goes
// out with the first Write, Flush or Close. c.Threads and c.MaxOutput do not
// apply: a GzipWriter runs on the caller's thread. An invalid level or
// header is an error (for the header, wrapping ErrHeader).
func (c Codec) NewGzipWriter(dst io.Writer, hdr *GzipHeader) (*GzipWriter, error) {
	w := new(GzipWriter)
	if err := core.Codec(c).InitGzipWriter(&w.w, dst, (*core.GzipHeader)(hdr)); err != nil {
		return nil, err
	}
	return w, nil
}

// Write compresses p. The compressed bytes reach dst as the engine makes
// them, not necessarily before Write returns; Flush or Close sends the
// rest. An error from dst is returned, and by every later call.
func (w *GzipWriter) Write(p []byte) (int, error) { return w.w.Write(p) }

// WriteString is Write for a string, without copying it.
func (w *GzipWriter) WriteString(s string) (int, error) { return w.w.WriteString(s) }

// Flush sends everything written so far to dst as whole deflate blocks (a
// sync flush, zlib's Z_SYNC_FLUSH), so that a reader decodes all of it
// without waiting for more. It costs a few bytes each time; call it when a
// reader is waiting, not after every Write. It does not flush dst itself.
func (w *GzipWriter) Flush() error { return w.w.Flush() }

// Close writes the rest of the stream (the last deflate block and the gzip
// trailer) to dst and gives the compressor back; it does not close dst.
// Later calls return nil (Close) or an error (the others) until Reset.
func (w *GzipWriter) Close() error { return w.w.Close() }

// Reset discards what w held, without writing anything, and makes it a new
// stream into dst with the same level and header, as if just made by
// NewGzipWriter.
func (w *GzipWriter) Reset(dst io.Writer) { w.w.Reset(dst) }
