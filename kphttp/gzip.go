package kphttp

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/kpipe/kpipe"
)

// DefaultMinSize is the size under which GzipHandler leaves a response as
// it is: a gzip stream costs about 20 bytes of framing and a round of the
// engine, which a short body does not win back (gzhttp's default too).
const DefaultMinSize = 1024

// DefaultGzipLevel is the level GzipHandler compresses at: kpipe's fastest,
// ISA-L's level 1 where ISA-L is present, at about twice klauspost/
// compress's speed at the same size (see the README's figures).
const DefaultGzipLevel = kpipe.BestSpeed

// GzipOptions sets how NewGzipHandler compresses. The zero value is
// GzipHandler's.
type GzipOptions struct {
	// Level is the kpipe.Codec level, 1 to 9 (see kpipe.GzipWriter for
	// the engine at each); 0 means DefaultGzipLevel.
	Level int
	// MinSize is the smallest body compressed, in bytes; 0 means
	// DefaultMinSize. A response whose Content-Length says it is shorter,
	// or whose handler returns having written fewer bytes and not
	// flushed, goes out as it is.
	MinSize int
}

// GzipHandler compresses h's responses with kpipe's engine for clients
// that accept gzip; see NewGzipHandler. It is NewGzipHandler(h,
// GzipOptions{}).
func GzipHandler(h http.Handler) http.Handler {
	g, err := NewGzipHandler(h, GzipOptions{})
	if err != nil {
		panic(err) // the default options are valid
	}
	return g
}

// NewGzipHandler returns a handler that runs h and compresses its response
// with gzip when all of these hold, and passes it through untouched
// otherwise:
//
//   - the request's Accept-Encoding admits gzip (and does not give it q=0);
//   - it is not a HEAD request, and the status is not 1xx, 204, 206 or
//     304;
//   - h set no Content-Encoding (its body is encoded already) and no
//     Content-Range;
//   - the Content-Type, set by h or sniffed from the body as net/http
//     would, is one that gains: text, and formats that are not compressed
//     already (not most images, audio, video, WOFF fonts, archives, PDF or
//     unknown binary data);
//   - the body reaches opt.MinSize bytes, or h flushes it before.
//
// Every response gets Vary: Accept-Encoding. A compressed response loses its
// Content-Length (it goes out chunked) and Accept-Ranges, and a strong ETag
// becomes weak, since the bytes differ from the ones it named.
//
// The body is buffered until MinSize bytes decide, then streamed through a
// pooled kpipe.GzipWriter: Flush (http.Flusher, or
// http.ResponseController's) sends everything written so far to the client
// before the handler returns. The writer passed to h implements
// http.Flusher, http.Hijacker (before anything is written), io.ReaderFrom
// and Unwrap, so http.ResponseController reaches the connection's deadlines
// and full-duplex setting. In steady state it allocates nothing per request.
func NewGzipHandler(h http.Handler, opt GzipOptions) (http.Handler, error) {
	if opt.Level == 0 {
		opt.Level = DefaultGzipLevel
	}
	if opt.Level < kpipe.BestSpeed || opt.Level > kpipe.BestCompression {
		return nil, errors.New("kphttp: GzipOptions.Level " + strconv.Itoa(opt.Level) + " is not 1 to 9")
	}
	if opt.MinSize < 0 {
		return nil, errors.New("kphttp: GzipOptions.MinSize is negative")
	}
	if opt.MinSize == 0 {
		opt.MinSize = DefaultMinSize
	}
	return &gzipHandler{h: h, level: opt.Level, minSize: opt.MinSize}, nil
}

type gzipHandler struct {
	h       http.Handler
	level   int
	minSize int
	writers sync.Pool // *gzipResponseWriter
}

func (g *gzipHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	if _, ok := hdr["Vary"]; ok {
		hdr.Add("Vary", "Accept-Encoding")
	} else {
		hdr["Vary"] = varyValue
	}
	if r.Method == http.MethodHead || !acceptsGzip(r) {
		g.h.ServeHTTP(w, r)
		return
	}
	gw, _ := g.writers.Get().(*gzipResponseWriter)
	if gw == nil {
		gw = &gzipResponseWriter{g: g, buf: make([]byte, 0, g.minSize)}
	}
	gw.rw = w
	done := false
	defer func() {
		if !done {
			// h panicked: nothing more goes out; the writer is
			// dropped rather than pooled half-way.
			gw.abandon()
		}
	}()
	g.h.ServeHTTP(gw, r)
	gw.finish()
	done = true
	gw.reset()
	g.writers.Put(gw)
}

// The states of a gzipResponseWriter's body.
const (
	bodyUndecided = iota // buffering until MinSize bytes decide
	bodyPlain            // passed through as it is
	bodyGzip             // through the GzipWriter
)

// gzipResponseWriter is the http.ResponseWriter a GzipHandler gives its
// handler.
type gzipResponseWriter struct {
	g     *gzipHandler
	rw    http.ResponseWriter
	buf   []byte // body held while undecided, cap minSize
	code  int    // the status h asked for; 0 until it does
	state int
	sent  bool // rw.WriteHeader was called
	gz    *kpipe.GzipWriter
}

// Header returns the response's header map.
func (w *gzipResponseWriter) Header() http.Header { return w.rw.Header() }

// WriteHeader records the status; it goes out with the decision to
// compress or not. Informational statuses go out at once.
func (w *gzipResponseWriter) WriteHeader(code int) {
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		w.rw.WriteHeader(code)
		return
	}
	if w.code != 0 {
		return // superfluous, as net/http's own writer has it
	}
	w.code = code
	if !bodyAllowed(code) || code == http.StatusPartialContent {
		w.startPlain()
		return
	}
	hdr := w.rw.Header()
	if hdr.Get("Content-Encoding") != "" || hdr.Get("Content-Range") != "" {
		w.startPlain()
		return
	}
	if cl := hdr.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n < int64(w.g.minSize) {
			w.startPlain()
		}
	}
}

// Write sends p, compressed or not, or holds it until MinSize bytes decide.
func (w *gzipResponseWriter) Write(p []byte) (int, error) {
	k, done, err := holdBody(w, p)
	if done {
		return k, err
	}
	var n int
	if w.state == bodyGzip {
		n, err = w.gz.Write(p[k:])
	} else {
		n, err = w.rw.Write(p[k:])
	}
	return k + n, err
}

// WriteString is Write for a string, without copying it when compressing.
func (w *gzipResponseWriter) WriteString(s string) (int, error) {
	k, done, err := holdBody(w, s)
	if done {
		return k, err
	}
	var n int
	if w.state == bodyGzip {
		n, err = w.gz.WriteString(s[k:])
	} else {
		n, err = io.WriteString(w.rw, s[k:])
	}
	return k + n, err
}

// holdBody adds what fits of b to the bytes held while the body is
// undecided, and returns how many it took; done reports that the call is
// over (the rest, if any, waits for the decision, or an error came).
func holdBody[T []byte | string](w *gzipResponseWriter, b T) (k int, done bool, err error) {
	if w.state != bodyUndecided {
		return 0, false, nil
	}
	k = min(len(b), cap(w.buf)-len(w.buf))
	w.buf = append(w.buf, b[:k]...)
	done, err = w.held()
	return k, done || err != nil, err
}

// held is called with the body's first bytes in w.buf, while undecided: it
// reports true when they are all there is so far (short of MinSize), and
// otherwise decides, sending the header and w.buf.
func (w *gzipResponseWriter) held() (bool, error) {
	if w.code == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.state != bodyUndecided {
		// WriteHeader decided (a Content-Encoding, say): w.buf is out.
		return false, nil
	}
	if len(w.buf) < w.g.minSize {
		return true, nil
	}
	return false, w.decide()
}

// ReadFrom copies r into the response: by rw's own ReadFrom (sendfile for
// an *os.File) when the body is plain, else through the GzipWriter.
func (w *gzipResponseWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.state == bodyUndecided && w.code == 0 {
		w.WriteHeader(http.StatusOK) // may decide (a Content-Encoding, say)
	}
	if w.state == bodyUndecided {
		// Fill the buffer to decide on real bytes.
		n, err := io.ReadFull(r, w.buf[len(w.buf):cap(w.buf)])
		w.buf = w.buf[:len(w.buf)+n]
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return int64(n), nil // all of r fits: decided at the end
		}
		if err != nil {
			return int64(n), err
		}
		if err := w.decide(); err != nil {
			return int64(n), err
		}
		m, err := w.ReadFrom(r)
		return int64(n) + m, err
	}
	if w.state == bodyPlain {
		if rf, ok := w.rw.(io.ReaderFrom); ok {
			return rf.ReadFrom(r)
		}
		return io.Copy(writerOnly{w.rw}, r)
	}
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	return io.CopyBuffer(writerOnly{w.gz}, r, *bp)
}

// copyBufs holds the buffers ReadFrom copies through on its way to the
// GzipWriter.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// writerOnly hides every method but Write, so that io.Copy does not loop
// back into ReadFrom.
type writerOnly struct{ io.Writer }

// Flush sends everything written so far to the client: through a sync
// flush of the compressor when compressing, then rw's Flush.
func (w *gzipResponseWriter) Flush() { _ = w.FlushError() }

// FlushError is Flush with its error; http.ResponseController calls it.
func (w *gzipResponseWriter) FlushError() error {
	if w.state == bodyUndecided {
		if len(w.buf) == 0 && w.code == 0 {
			return nil // nothing written: nothing to decide on yet
		}
		// A handler that flushes is streaming: more will come, so
		// the body counts as long enough.
		if err := w.decide(); err != nil {
			return err
		}
	}
	if w.state == bodyGzip {
		if err := w.gz.Flush(); err != nil {
			return err
		}
	}
	// The controller stays on the stack: no allocation per flush.
	return http.NewResponseController(w.rw).Flush()
}

// Hijack hands over the connection, while nothing has been written.
func (w *gzipResponseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.sent || len(w.buf) > 0 {
		return nil, nil, errors.New("kphttp: Hijack after the response started")
	}
	return http.NewResponseController(w.rw).Hijack()
}

// Unwrap returns the ResponseWriter wrapped, for http.ResponseController.
func (w *gzipResponseWriter) Unwrap() http.ResponseWriter { return w.rw }

// decide chooses between gzip and plain for a body that starts with
// w.buf, and sends the header and w.buf.
func (w *gzipResponseWriter) decide() error {
	hdr := w.rw.Header()
	if _, set := hdr["Content-Type"]; !set && len(w.buf) > 0 {
		// Sniff as net/http would, while the first bytes still tell.
		hdr["Content-Type"] = []string{http.DetectContentType(w.buf)}
	}
	if compressible(hdr.Get("Content-Type")) {
		w.startGzip()
	} else {
		w.startPlain()
	}
	if len(w.buf) == 0 {
		return nil
	}
	var err error
	if w.state == bodyGzip {
		_, err = w.gz.Write(w.buf)
	} else {
		_, err = w.rw.Write(w.buf)
	}
	w.buf = w.buf[:0]
	return err
}

// startPlain sends the header as h set it; the body follows as it is.
func (w *gzipResponseWriter) startPlain() {
	w.state = bodyPlain
	w.sendHeader()
	if len(w.buf) > 0 {
		w.rw.Write(w.buf)
		w.buf = w.buf[:0]
	}
}

// startGzip sends the header of a compressed response and readies the
// GzipWriter.
func (w *gzipResponseWriter) startGzip() {
	hdr := w.rw.Header()
	hdr.Del("Content-Length")
	hdr.Del("Accept-Ranges")
	hdr["Content-Encoding"] = gzipValue
	if et := hdr.Get("Etag"); et != "" && !hasPrefixFold(et, "W/") {
		hdr.Set("Etag", "W/"+et)
	}
	w.state = bodyGzip
	w.sendHeader()
	if w.gz == nil {
		gz, err := kpipe.Codec{Level: w.g.level}.NewGzipWriter(w.rw, nil)
		if err != nil {
			panic(err) // the level was checked by NewGzipHandler
		}
		w.gz = gz
		return
	}
	w.gz.Reset(w.rw)
}

// Header values set without allocating. Their capacity is their length,
// so that an Add to the same key copies rather than writes into them.
var (
	gzipValue = []string{"gzip"}[:1:1]
	varyValue = []string{"Accept-Encoding"}[:1:1]
)

func (w *gzipResponseWriter) sendHeader() {
	if w.sent {
		return
	}
	w.sent = true
	code := w.code
	if code == 0 {
		code = http.StatusOK
	}
	w.rw.WriteHeader(code)
}

// finish ends the response once h has returned.
func (w *gzipResponseWriter) finish() {
	switch w.state {
	case bodyUndecided:
		if w.code == 0 && len(w.buf) == 0 {
			return // h wrote nothing: net/http sends its 200
		}
		// Short of MinSize and never flushed: as it is.
		w.startPlain()
	case bodyGzip:
		w.gz.Close()
	}
}

// abandon drops what the writer holds without sending more.
func (w *gzipResponseWriter) abandon() {
	if w.gz != nil {
		w.gz.Reset(nil)
	}
}

// reset readies the writer for the next request.
func (w *gzipResponseWriter) reset() {
	gz, buf := w.gz, w.buf[:0]
	*w = gzipResponseWriter{g: w.g, buf: buf, gz: gz}
}

// bodyAllowed reports whether a response with this status may have a body.
func bodyAllowed(code int) bool {
	return code >= 200 && code != http.StatusNoContent && code != http.StatusNotModified
}

// hasPrefixFold is strings.HasPrefix ignoring ASCII case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
