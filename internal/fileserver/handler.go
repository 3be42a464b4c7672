package fileserver

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kpipe/kpipe"
)

// idleTimeout is how long a kept-alive connection may wait for its next
// request.
const idleTimeout = time.Minute

// serveConn reads requests from conn and answers them until the client
// closes, asks to close, sends something malformed, a response fails, or the
// server shuts down.
func (s *Server) serveConn(conn *net.TCPConn) {
	br := bufio.NewReader(conn)
	for s.waitForRequest(conn) {
		req, err := http.ReadRequest(br)
		if err != nil {
			var ne net.Error
			if err != io.EOF && !errors.As(err, &ne) && !errors.Is(err, syscall.ECONNRESET) {
				writeStatus(conn, http.StatusBadRequest, false)
			}
			return
		}
		closing := s.busy(conn)
		keep, err := respond(conn, req, s.root, closing)
		if err != nil {
			if !peerGone(err) {
				s.logf("%s %s: %v", req.Method, req.URL.Path, err)
			}
			return
		}
		if !keep {
			return
		}
	}
}

// respond answers one request. keep says whether the connection can carry
// another; an error means the response could not be completed and the
// connection must close (a body cut short is never framed as complete).
// closing says that the connection closes after this response whatever the
// request asks (the server is shutting down).
func respond(conn *net.TCPConn, req *http.Request, root *root, closing bool) (keep bool, err error) {
	// A request body would have to be read before the next request: kpipe
	// serves none, so such a connection closes after the response.
	keep = !closing && !req.Close && req.ContentLength == 0 && len(req.TransferEncoding) == 0
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return false, writeStatus(conn, http.StatusMethodNotAllowed, false, "Allow: GET, HEAD")
	}
	f, fi, err := root.open(req.URL.Path)
	switch {
	case errors.Is(err, errOutside):
		return keep, writeStatus(conn, http.StatusForbidden, keep)
	case errors.Is(err, fs.ErrNotExist):
		return keep, writeStatus(conn, http.StatusNotFound, keep)
	case errors.Is(err, fs.ErrPermission):
		return keep, writeStatus(conn, http.StatusForbidden, keep)
	case err != nil:
		return false, errors.Join(err, writeStatus(conn, http.StatusInternalServerError, false))
	}
	defer f.Close()

	gz := acceptsGzip(req.Header.Values("Accept-Encoding"))
	h := make([]byte, 0, 256)
	h = append(h, "HTTP/1.1 200 OK\r\nServer: kpipe-fileserver\r\nDate: "...)
	h = time.Now().UTC().AppendFormat(h, http.TimeFormat)
	h = append(h, "\r\nContent-Type: "...)
	h = append(h, contentType(fi.Name(), req.URL.Path)...)
	h = append(h, "\r\nLast-Modified: "...)
	h = fi.ModTime().UTC().AppendFormat(h, http.TimeFormat)
	h = append(h, "\r\nVary: Accept-Encoding\r\n"...)
	if gz {
		h = append(h, "Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"...)
	} else {
		h = append(h, "Content-Length: "...)
		h = strconv.AppendInt(h, fi.Size(), 10)
		h = append(h, "\r\n"...)
	}
	if !keep {
		h = append(h, "Connection: close\r\n"...)
	}
	h = append(h, "\r\n"...)
	if _, err := conn.Write(h); err != nil {
		return false, err
	}
	if req.Method == http.MethodHead {
		return keep, nil
	}
	if gz {
		return keep, sendGzipChunked(conn, f)
	}
	return keep, sendPlain(conn, f, fi.Size())
}

// sendPlain sends exactly size bytes of f: sendfile(2) by kpipe.Copy. A
// file that shrank under it is an error (the client sees a short body and
// the connection close).
func sendPlain(conn *net.TCPConn, f *os.File, size int64) error {
	n, err := kpipe.Copy(conn, &io.LimitedReader{R: f, N: size})
	if err == nil && n != size {
		err = fmt.Errorf("%s: sent %d of %d bytes: %w", f.Name(), n, size, io.ErrUnexpectedEOF)
	}
	return err
}

// sendGzipChunked gzips f into a kernel pipe while the pipe is spliced into
// conn as an HTTP chunked body. If gzip fails the pipe is closed rather than
// ended, so the chunked body ends without its last chunk and the client can
// tell it is incomplete.
func sendGzipChunked(conn *net.TCPConn, f *os.File) error {
	p, err := kpipe.NewPipe()
	if err != nil {
		return err
	}
	defer p.Close() // also wakes a Gzip blocked on a full pipe
	gzErr := make(chan error, 1)
	go func() {
		_, err := kpipe.Gzip(p, f, nil)
		if err != nil {
			p.Close()
		} else {
			err = p.CloseWrite()
		}
		gzErr <- err
	}()
	_, err = kpipe.ChunkedTransfer(conn, p)
	p.Close()
	if gerr := <-gzErr; gerr != nil && err == nil {
		err = gerr
	}
	return err
}

// acceptsGzip reports whether Accept-Encoding values admit gzip: "gzip",
// "x-gzip" or "*" with a non-zero quality, and no "gzip;q=0".
func acceptsGzip(values []string) bool {
	ok := false
	for _, v := range values {
		for _, item := range strings.Split(v, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(item), ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			if coding != "gzip" && coding != "x-gzip" && coding != "*" {
				continue
			}
			q := 1.0
			for _, p := range strings.Split(params, ";") {
				if k, val, found := strings.Cut(strings.TrimSpace(p), "="); found && strings.EqualFold(k, "q") {
					if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
						q = f
					}
				}
			}
			if coding != "*" && q == 0 {
				return false
			}
			if q > 0 {
				ok = true
			}
		}
	}
	return ok
}

// contentType picks a Content-Type from the file name's extension (the
// URL's when it names a directory served by its index.html).
func contentType(name, urlPath string) string {
	ext := path.Ext(name)
	if ext == "" {
		ext = path.Ext(urlPath)
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

// writeStatus sends a short text response with the given status; keep
// false adds Connection: close. extra header lines go before the end.
func writeStatus(conn *net.TCPConn, code int, keep bool, extra ...string) error {
	body := strconv.Itoa(code) + " " + http.StatusText(code) + "\n"
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\nServer: kpipe-fileserver\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n",
		code, http.StatusText(code), len(body))
	for _, line := range extra {
		b.WriteString(line + "\r\n")
	}
	if !keep {
		b.WriteString("Connection: close\r\n")
	}
	b.WriteString("\r\n" + body)
	_, err := io.WriteString(conn, b.String())
	return err
}

// peerGone reports whether err only says that the client went away.
func peerGone(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, net.ErrClosed)
}
