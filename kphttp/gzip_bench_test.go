package kphttp

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/klauspost/compress/gzhttp"

	"github.com/kpipe/kpipe/internal/testprog"
)

// discardWriter is the least http.ResponseWriter: it counts the body and
// keeps its header map from request to request, so that what a handler
// allocates is its own.
type discardWriter struct {
	h    http.Header
	code int
	n    int64
}

func (d *discardWriter) Header() http.Header { return d.h }

func (d *discardWriter) Write(p []byte) (int, error) {
	d.n += int64(len(p))
	return len(p), nil
}

func (d *discardWriter) WriteHeader(code int) { d.code = code }

func (d *discardWriter) Flush() {}

func (d *discardWriter) reset() {
	clear(d.h)
	d.code, d.n = 0, 0
}

// writeText is a handler writing body as text, in 32 KiB pieces.
func writeText(body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		for b := body; len(b) > 0; {
			k := min(len(b), 32<<10)
			w.Write(b[:k])
			b = b[k:]
		}
	}
}

// TestGzipHandlerAllocs: GzipHandler allocates nothing per response beyond
// what the handler it wraps does, compressing or not.
func TestGzipHandlerAllocs(t *testing.T) {
	if testprog.Instrumented {
		t.Skip("the race detector allocates")
	}
	for _, n := range []int{100, 256 << 10} {
		h := writeText(textBody(n, 1))
		g := GzipHandler(h)
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Accept-Encoding", "gzip, deflate")
		rw := &discardWriter{h: make(http.Header, 8)}
		measure := func(h http.Handler) float64 {
			return testing.AllocsPerRun(50, func() {
				rw.reset()
				h.ServeHTTP(rw, req)
			})
		}
		base, wrapped := measure(h), measure(g)
		if wrapped != base {
			t.Errorf("%d-byte responses: %v allocations through GzipHandler, %v without", n, wrapped, base)
		}
		if n > DefaultMinSize && rw.h.Get("Content-Encoding") != "gzip" {
			t.Errorf("%d bytes not compressed", n)
		}
	}
}

// BenchmarkGzipHandler compresses a 1 MiB text response through
// GzipHandler and, beside it, gzhttp.GzipHandler (klauspost/compress, its
// default level 5, and level 1), in process, to a writer that discards:
//
//	go test -run '^$' -bench GzipHandler ./kphttp
//
// MB/s counts the uncompressed bytes; the harness measures the same over
// real connections.
func BenchmarkGzipHandler(b *testing.B) {
	body := textBody(1<<20, 1)
	h := writeText(body)
	gz1, err := gzhttp.NewWrapper(gzhttp.CompressionLevel(1))
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		h    http.Handler
	}{
		{"kphttp", GzipHandler(h)},
		{"gzhttp", gzhttp.GzipHandler(h)},
		{"gzhttp-level1", gz1(h)},
	} {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header.Set("Accept-Encoding", "gzip")
			rw := &discardWriter{h: make(http.Header, 8)}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for range b.N {
				rw.reset()
				c.h.ServeHTTP(rw, req)
			}
			b.ReportMetric(float64(len(body))/float64(rw.n), "ratio")
		})
	}
}
