package kphttp

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/kpipe/kpipe"
)

// Files are gzipped on the fly as GzipHandler gzips responses: at the
// fastest level, since the work is done again for every response (a file
// worth more compression is worth precompressing, see FileServer), and
// only from DefaultMinSize bytes.
const (
	fileGzipLevel = DefaultGzipLevel
	minGzipSize   = DefaultMinSize
)

var (
	// errNoRoot answers the requests of a FileServer whose directory
	// cannot be opened.
	errNoRoot = errors.New("kphttp: the served directory cannot be opened")
	// errClosed answers the requests that come after Close.
	errClosed = errors.New("kphttp: file server closed")
)

// FileServer serves the files beneath root, as http.FileServer(http.Dir(root)) does, with the
// body moved by the kernel and gzip done by kpipe's engine.
//
// As http.FileServer, it answers ranges, conditional requests
// (If-Modified-Since, If-None-Match and If-Range against the ETag it sends,
// If-Match, If-Unmodified-Since) and HEAD, sets Content-Type from the name or
// the content, serves a directory's index.html, and redirects /dir to /dir/
// and /dir/index.html to /dir/. Unlike it:
//
//   - Only GET and HEAD are served; other methods get 405 with
//     Allow: GET, HEAD.
//   - Nothing outside root is served: a path with a ".." segment (once
//     percent-decoded) is 403, and so is a symbolic link that leads out of
//     root. On Linux the kernel resolves every path beneath the root's
//     descriptor (openat2(2) with RESOLVE_BENEATH); elsewhere the check is
//     made in user space before the open.
//   - A directory without index.html is 404: listings are off (see
//     FileServerOptions.Listing). So is anything that is neither a
//     directory nor a regular file.
//   - A whole GET from a client that accepts gzip, of a file of a type
//     that compresses (not images, audio, video or archives) and of at
//     least 1 KiB, is answered with Content-Encoding: gzip. If NAME.gz
//     lies beside NAME and is not older, it is sent as it is; otherwise
//     kpipe's engine compresses the file at kpipe.BestSpeed as it is sent,
//     without a Content-Length (net/http frames the body in chunks) and
//     with a weak ETag of its own. Such files are sent with
//     Vary: Accept-Encoding. A range is always answered from the file as
//     it is.
//   - It sends an ETag: "<mtime>-<size>", the file's modification time in
//     nanoseconds and its size in bytes, in hex. The gzip representations
//     have "-gz" inside the quotes: a NAME.gz its own time and size, the
//     gzip made on the fly the file's, as a weak tag (W/).
//
// Plain bodies go through http.ServeContent with the *os.File, so net/http
// sends them by sendfile(2).
//
// root is opened once. On Linux the handler holds that descriptor (O_PATH)
// for its life, until it becomes garbage (or FileHandler.Close): renaming
// or replacing root afterwards does not change what is served. Elsewhere
// the path resolved at the open is used. If root cannot be opened,
// FileServer still returns a handler: it tries again at each request,
// answering 500 until it succeeds, and logs nothing. NewFileServer reports
// the error instead.
func FileServer(root string) http.Handler {
	h := &FileHandler{dir: root}
	h.root, _ = openRoot(root) // on failure, open tries again
	return h
}

// FileServerOptions are the settings of NewFileServer. The zero value gives
// FileServer's behaviour.
type FileServerOptions struct {
	// Listing makes a directory without an index.html answer with an HTML
	// list of its entries, as http.FileServer does. Off, such a directory
	// is 404: listings show what was perhaps not meant to be found.
	Listing bool
}

// NewFileServer returns a handler that serves the files beneath root as
// FileServer does, with the options opt. It fails if root cannot be opened
// as a directory. The handler holds root's descriptor until Close.
func NewFileServer(root string, opt FileServerOptions) (*FileHandler, error) {
	r, err := openRoot(root)
	if err != nil {
		return nil, err
	}
	return &FileHandler{dir: root, opt: opt, root: r}, nil
}

// FileHandler is the file server that FileServer and NewFileServer return.
// It is safe for concurrent use.
type FileHandler struct {
	dir string
	opt FileServerOptions

	// mu is held for reading while the root's descriptor is used, so that
	// Close cannot release it (and the number be reused) under an open;
	// for writing to open or close it.
	mu     sync.RWMutex
	root   *root // nil until opened, and after Close
	closed bool
}

// Close releases the served directory. Requests that come after it are
// answered 500. It returns once the opens under way are done.
func (h *FileHandler) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	if h.root == nil {
		return nil
	}
	err := h.root.close()
	h.root = nil
	return err
}

// ServeHTTP serves the file that r.URL.Path names beneath the root; see
// FileServer.
func (h *FileHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	upath := r.URL.Path
	if !strings.HasPrefix(upath, "/") {
		upath = "/" + upath // as left by http.StripPrefix
	}
	if hasDotDot(upath) {
		// Cleaning would keep it inside the root; a client that sends
		// one is not following links, so it gets no guess.
		serveError(w, errOutside)
		return
	}
	if strings.IndexByte(upath, 0) >= 0 {
		serveError(w, fs.ErrNotExist)
		return
	}
	if strings.HasSuffix(upath, "/index.html") {
		localRedirect(w, r, "./")
		return
	}
	name := path.Clean(upath)
	rel := name[1:]
	if rel == "" {
		rel = "."
	}
	f, fi, err := h.open(rel)
	if err != nil {
		serveError(w, err)
		return
	}
	if !fi.isDir() {
		defer f.Close()
		if strings.HasSuffix(upath, "/") {
			localRedirect(w, r, "../"+path.Base(upath))
			return
		}
		h.serveFile(w, r, f, &fi, name, rel)
		return
	}
	if !strings.HasSuffix(upath, "/") {
		f.Close()
		localRedirect(w, r, path.Base(upath)+"/")
		return
	}
	index := path.Join(rel, "index.html")
	ff, ffi, err := h.open(index)
	if err == nil && ffi.isDir() {
		ff.Close()
		err = errNotFile
	}
	switch {
	case err == nil:
		f.Close()
		defer ff.Close()
		h.serveFile(w, r, ff, &ffi, index, index)
	case errors.Is(err, fs.ErrNotExist) && h.opt.Listing:
		defer f.Close()
		listDir(w, r, f, &fi)
	default:
		f.Close()
		serveError(w, err)
	}
}

// open opens rel beneath the root, opening the root first if that failed
// until now.
func (h *FileHandler) open(rel string) (*os.File, fileInfo, error) {
	h.mu.RLock()
	if h.root == nil {
		h.mu.RUnlock()
		if err := h.openRoot(); err != nil {
			return nil, fileInfo{}, err
		}
		h.mu.RLock()
	}
	if h.root == nil { // closed in between
		h.mu.RUnlock()
		return nil, fileInfo{}, errClosed
	}
	f, fi, err := h.root.open(rel)
	h.mu.RUnlock()
	return f, fi, err
}

// openRoot opens the root of a handler whose root is not open.
func (h *FileHandler) openRoot() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return errClosed
	case h.root != nil:
		return nil
	}
	r, err := openRoot(h.dir)
	if err != nil {
		return errNoRoot // a 500, whatever the reason
	}
	h.root = r
	return nil
}

// serveFile answers a request for the regular file f: the file as it is, a
// precompressed NAME.gz, or the file gzipped on the fly. name gives the
// Content-Type by its extension; rel is the path beneath the root.
func (h *FileHandler) serveFile(w http.ResponseWriter, r *http.Request, f *os.File, fi *fileInfo, name, rel string) {
	hdr := w.Header()
	vals := new(headerValues) // one allocation for the header values set here
	var scratch [64]byte
	ctype := ""
	if v, ok := hdr["Content-Type"]; ok {
		if len(v) > 0 {
			ctype = v[0]
		}
	} else {
		ctype = contentType(f, name)
		vals.set(hdr, "Content-Type", slotType, ctype)
	}
	gzippable := fi.size >= minGzipSize && compressible(ctype)
	if gzippable {
		addVaryAcceptEncoding(hdr, vals)
	}
	if gzippable && r.Header.Get("Range") == "" && acceptsGzip(r) {
		if h.servePrecompressed(w, r, fi, name, rel, vals) {
			return
		}
		serveGzip(w, r, f, fi, vals)
		return
	}
	vals.set(hdr, "Etag", slotETag, vals.str(appendETag(scratch[:0], fi, false, "")))
	http.ServeContent(w, r, name, fi.modTime, f)
}

// servePrecompressed sends rel's NAME.gz as the gzip representation of the
// file fi, if there is one that is not older. It reports whether it did.
func (h *FileHandler) servePrecompressed(w http.ResponseWriter, r *http.Request, fi *fileInfo, name, rel string, vals *headerValues) bool {
	gz, gzi, err := h.open(rel + ".gz")
	if err != nil {
		return false // none, or one that may not be served: compress the file
	}
	defer gz.Close()
	if gzi.isDir() || gzi.modTime.Before(fi.modTime) {
		return false // stale: the file changed after it was compressed
	}
	hdr := w.Header()
	var scratch [64]byte
	vals.set(hdr, "Etag", slotETag, vals.str(appendETag(scratch[:0], &gzi, false, "-gz")))
	vals.set(hdr, "Content-Encoding", slotEncoding, "gzip")
	if checkPreconditions(w, r, gzi.modTime) {
		return true
	}
	// ServeContent leaves the length out when there is a Content-Encoding
	// (it might be a wrapper's); here it is the file's. It is set once the
	// preconditions have passed, since ServeContent's 412 would keep it
	// for an empty body; a range never comes this way.
	vals.set(hdr, "Content-Length", slotLength, vals.str(strconv.AppendInt(scratch[:0], gzi.size, 10)))
	http.ServeContent(w, r, name, gzi.modTime, gz)
	return true
}

// serveGzip sends f gzipped by kpipe's engine as it goes. Its ETag is weak:
// the bytes depend on the engine and level, not on the file alone, and a
// range of them is never served (a request with If-Range and this ETag gets
// the whole file).
func serveGzip(w http.ResponseWriter, r *http.Request, f *os.File, fi *fileInfo, vals *headerValues) {
	hdr := w.Header()
	var scratch [64]byte
	vals.set(hdr, "Etag", slotETag, vals.str(appendETag(scratch[:0], fi, true, "-gz")))
	if !isZeroTime(fi.modTime) {
		vals.set(hdr, "Last-Modified", slotModified, vals.str(appendHTTPDate(scratch[:0], fi.modTime)))
	}
	if checkPreconditions(w, r, fi.modTime) {
		return
	}
	vals.set(hdr, "Content-Encoding", slotEncoding, "gzip")
	delete(hdr, "Content-Length")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if _, err := (kpipe.Codec{Level: fileGzipLevel}).Gzip(w, f, nil); err != nil {
		// The status is sent: abort the connection, so that the client
		// sees a cut body rather than a complete short one.
		panic(http.ErrAbortHandler)
	}
}

// localRedirect redirects to newPath, relative to the request's path, as
// http.FileServer does.
func localRedirect(w http.ResponseWriter, r *http.Request, newPath string) {
	if q := r.URL.RawQuery; q != "" {
		newPath += "?" + q
	}
	w.Header().Set("Location", newPath)
	w.WriteHeader(http.StatusMovedPermanently)
}

// serveError answers a request whose file could not be opened.
func serveError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, errOutside), errors.Is(err, fs.ErrPermission):
		http.Error(w, "403 Forbidden", http.StatusForbidden)
	case errors.Is(err, fs.ErrNotExist):
		http.Error(w, "404 page not found", http.StatusNotFound)
	default:
		http.Error(w, "500 Internal Server Error", http.StatusInternalServerError)
	}
}

// hasDotDot reports whether the slash-separated path p has a ".." segment.
func hasDotDot(p string) bool {
	if !strings.Contains(p, "..") {
		return false
	}
	for p != "" {
		var seg string
		seg, p, _ = strings.Cut(p, "/")
		if seg == ".." {
			return true
		}
	}
	return false
}
