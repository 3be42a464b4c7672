// Command gofileserver is the peer kpipe's file server is measured against:
// Go's own http.FileServer behind a compress/gzip handler, the way a Go
// service serves static files without kpipe. Responses to clients that
// accept gzip are compressed at level 6 (compress/gzip's default) through
// pooled gzip.Writers; others get the file as http.FileServer sends it
// (sendfile, with a Content-Length).
//
// Usage:
//
//	gofileserver -listen 127.0.0.1:8081 -dir DIR
package main

import (
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:8081", "TCP address to listen on")
	dir := flag.String("dir", ".", "directory to serve")
	flag.Parse()
	handler := gzipHandler(http.FileServer(http.Dir(*dir)))
	if err := http.ListenAndServe(*addr, handler); err != nil {
		fmt.Fprintf(os.Stderr, "gofileserver: %v\n", err)
		os.Exit(1)
	}
}

// gzipWriters pools level-6 gzip writers: each holds about 800 KB of state.
var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(io.Discard, gzip.DefaultCompression)
	return w
}}

// gzipResponseWriter compresses the body of a response on its way out.
type gzipResponseWriter struct {
	http.ResponseWriter
	zw *gzip.Writer
}

func (w *gzipResponseWriter) WriteHeader(code int) {
	w.Header().Del("Content-Length") // the length changes; chunked instead
	w.ResponseWriter.WriteHeader(code)
}

func (w *gzipResponseWriter) Write(b []byte) (int, error) { return w.zw.Write(b) }

// gzipHandler compresses the responses of next for clients that accept gzip.
func gzipHandler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept-Encoding")
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			next.ServeHTTP(w, r)
			return
		}
		zw := gzipWriters.Get().(*gzip.Writer)
		defer gzipWriters.Put(zw)
		zw.Reset(w)
		w.Header().Set("Content-Encoding", "gzip")
		next.ServeHTTP(&gzipResponseWriter{ResponseWriter: w, zw: zw}, r)
		zw.Close()
	})
}
