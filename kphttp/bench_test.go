package kphttp

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// fileBenchWriter is a minimal http.ResponseWriter for the file server
// benchmark: its header map is kept from request to request, and it takes
// a file body through ReadFrom, as net/http's writer does (with reads into
// one buffer here, where net/http's uses sendfile), so that what a handler
// allocates is its own.
type fileBenchWriter struct {
	h    http.Header
	code int
	n    int64
	buf  []byte
}

func (w *fileBenchWriter) Header() http.Header { return w.h }

func (w *fileBenchWriter) WriteHeader(code int) { w.code = code }

func (w *fileBenchWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

func (w *fileBenchWriter) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	for {
		n, err := r.Read(w.buf)
		total += int64(n)
		w.n += int64(n)
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

func (w *fileBenchWriter) reset() {
	clear(w.h)
	w.code, w.n = 0, 0
}

// BenchmarkFileServer serves a 64 KiB text file through a direct handler
// call: FileServer and http.FileServer(http.Dir(root)) plain, and
// FileServer gzipping it for a client that accepts gzip. allocs/op is the
// handler's own.
//
//	go test -run '^$' -bench FileServer -benchtime 2000x ./kphttp
func BenchmarkFileServer(b *testing.B) {
	dir := b.TempDir()
	body := siteText(64<<10, 1)
	if err := os.WriteFile(filepath.Join(dir, "file.txt"), body, 0o644); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		h    http.Handler
		gzip bool
	}{
		{"plain/kphttp", FileServer(dir), false},
		{"plain/net-http", http.FileServer(http.Dir(dir)), false},
		{"gzip/kphttp", FileServer(dir), true},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := httptest.NewRequest(http.MethodGet, "/file.txt", nil)
			if c.gzip {
				r.Header.Set("Accept-Encoding", "gzip")
			}
			w := &fileBenchWriter{h: make(http.Header), buf: make([]byte, 32<<10)}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				w.reset()
				c.h.ServeHTTP(w, r)
			}
			b.StopTimer()
			gzipped := w.h.Get("Content-Encoding") == "gzip"
			if w.code != http.StatusOK || gzipped != c.gzip || (!c.gzip && w.n != int64(len(body))) || w.n == 0 {
				b.Fatalf("last response: %d, gzip %v, %d bytes", w.code, gzipped, w.n)
			}
		})
	}
}
