package kphttp

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// textBody is n bytes of text that compresses about as source code does.
func textBody(n int, seed int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "line %d of body %d: the quick brown fox %x jumps over the lazy dog\n", i, seed, i*seed*2654435761)
	}
	return b.Bytes()[:n]
}

// gzipServer serves h behind GzipHandler on a real listener.
func gzipServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(GzipHandler(h))
	t.Cleanup(srv.Close)
	return srv
}

// get fetches url with the given Accept-Encoding (none when ae is empty),
// the body left as it came: the transport does not decode it.
func get(t *testing.T, url, ae string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ae != "" {
		req.Header.Set("Accept-Encoding", ae)
	}
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// gunzipAll decodes a whole gzip body.
func gunzipAll(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gzip body: %v", err)
	}
	return out
}

func bodyHandler(body []byte, header map[string]string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.Write(body)
	}
}

// TestGzipHandlerCompresses: a large response to a client that accepts
// gzip is gzip, chunked, with Vary, no stale Content-Length and a weakened
// ETag; it decodes to what the handler wrote.
func TestGzipHandlerCompresses(t *testing.T) {
	body := textBody(300<<10, 1)
	srv := gzipServer(t, bodyHandler(body, map[string]string{
		"Content-Length": fmt.Sprint(len(body)), "Etag": `"v1"`, "Content-Type": "text/plain",
	}))
	for _, ae := range []string{"gzip", "deflate, gzip;q=0.5", "x-gzip", "*", "br;q=1.0, GZIP"} {
		resp, raw := get(t, srv.URL, ae)
		if ce := resp.Header.Get("Content-Encoding"); ce != "gzip" {
			t.Fatalf("Accept-Encoding %q: Content-Encoding %q", ae, ce)
		}
		if resp.ContentLength != -1 || resp.Header.Get("Content-Length") != "" {
			t.Errorf("Accept-Encoding %q: Content-Length %d kept", ae, resp.ContentLength)
		}
		if v := resp.Header.Get("Vary"); v != "Accept-Encoding" {
			t.Errorf("Vary %q", v)
		}
		if et := resp.Header.Get("Etag"); et != `W/"v1"` {
			t.Errorf("ETag %q, want it weak", et)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "text/plain" {
			t.Errorf("Content-Type %q", ct)
		}
		if got := gunzipAll(t, raw); !bytes.Equal(got, body) {
			t.Fatalf("Accept-Encoding %q: decoded %d bytes, want the %d written", ae, len(got), len(body))
		}
		if len(raw) >= len(body)/2 {
			t.Errorf("compressed to %d of %d bytes", len(raw), len(body))
		}
	}
}

// TestGzipHandlerPassesThrough: what must not be compressed goes out as
// the handler wrote it, with Vary still set.
func TestGzipHandlerPassesThrough(t *testing.T) {
	big := textBody(64<<10, 2)
	small := textBody(DefaultMinSize-1, 3)
	png := append([]byte("\x89PNG\r\n\x1a\n"), big...)
	cases := []struct {
		name, ae string
		h        http.Handler
		want     []byte
		status   int
	}{
		{"no Accept-Encoding", "", bodyHandler(big, nil), big, 200},
		{"gzip;q=0", "gzip;q=0, deflate", bodyHandler(big, nil), big, 200},
		{"gzip;q=0.000 and *", "*, gzip;q=0.000", bodyHandler(big, nil), big, 200},
		{"identity only", "identity", bodyHandler(big, nil), big, 200},
		{"short of MinSize", "gzip", bodyHandler(small, nil), small, 200},
		{"Content-Length short", "gzip", bodyHandler(small, map[string]string{"Content-Length": fmt.Sprint(len(small))}), small, 200},
		{"already encoded", "gzip", bodyHandler(big, map[string]string{"Content-Encoding": "br"}), big, 200},
		{"JPEG", "gzip", bodyHandler(big, map[string]string{"Content-Type": "image/jpeg"}), big, 200},
		{"sniffed PNG", "gzip", bodyHandler(png, nil), png, 200},
		{"zip", "gzip", bodyHandler(big, map[string]string{"Content-Type": "application/zip"}), big, 200},
		{"206", "gzip", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-%d/%d", len(big)-1, len(big)+10))
			w.WriteHeader(http.StatusPartialContent)
			w.Write(big)
		}), big, 206},
		{"304", "gzip", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNotModified)
		}), nil, 304},
		{"204", "gzip", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		}), nil, 204},
		{"empty", "gzip", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), nil, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := gzipServer(t, c.h)
			resp, raw := get(t, srv.URL, c.ae)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.status)
			}
			if ce := resp.Header.Get("Content-Encoding"); ce == "gzip" {
				t.Fatalf("compressed")
			}
			if !bytes.Equal(raw, c.want) {
				t.Fatalf("body of %d bytes, want the %d written", len(raw), len(c.want))
			}
			if v := resp.Header.Get("Vary"); v != "Accept-Encoding" {
				t.Errorf("Vary %q", v)
			}
		})
	}
}

// TestGzipHandlerHead: HEAD passes through with the handler's headers.
func TestGzipHandlerHead(t *testing.T) {
	body := textBody(64<<10, 4)
	srv := gzipServer(t, bodyHandler(body, map[string]string{"Content-Length": fmt.Sprint(len(body))}))
	req, _ := http.NewRequest(http.MethodHead, srv.URL, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "" || resp.ContentLength != int64(len(body)) {
		t.Fatalf("HEAD: Content-Encoding %q, Content-Length %d", resp.Header.Get("Content-Encoding"), resp.ContentLength)
	}
}

// TestGzipHandlerFlush: what the handler flushes reaches the client, and
// decodes, before the handler goes on; by http.Flusher and by
// http.ResponseController, with and without bytes before the flush.
func TestGzipHandlerFlush(t *testing.T) {
	for _, how := range []string{"Flusher", "ResponseController"} {
		t.Run(how, func(t *testing.T) {
			part1, part2 := textBody(100, 5), textBody(200<<10, 6)
			got1 := make(chan struct{})
			srv := gzipServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				w.Write(part1)
				if how == "Flusher" {
					w.(http.Flusher).Flush()
				} else if err := http.NewResponseController(w).Flush(); err != nil {
					t.Errorf("ResponseController.Flush: %v", err)
				}
				select {
				case <-got1:
				case <-time.After(10 * time.Second):
					t.Errorf("the client never got the flushed bytes")
				}
				w.Write(part2)
			}))
			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			req.Header.Set("Accept-Encoding", "gzip")
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.Header.Get("Content-Encoding") != "gzip" {
				t.Fatalf("a flushed stream was not compressed")
			}
			zr, err := gzip.NewReader(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			b := make([]byte, len(part1))
			if _, err := io.ReadFull(zr, b); err != nil || !bytes.Equal(b, part1) {
				t.Fatalf("flushed part: %v", err)
			}
			close(got1)
			rest, err := io.ReadAll(zr)
			if err != nil || !bytes.Equal(rest, part2) {
				t.Fatalf("rest: %d bytes, %v", len(rest), err)
			}
		})
	}
}

// TestGzipHandlerResponseController: deadlines and full duplex reach the
// connection through Unwrap.
func TestGzipHandlerResponseController(t *testing.T) {
	errs := make(chan error, 3)
	srv := gzipServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		errs <- rc.SetWriteDeadline(time.Now().Add(time.Minute))
		errs <- rc.SetReadDeadline(time.Now().Add(time.Minute))
		errs <- rc.EnableFullDuplex()
		w.Write(textBody(10<<10, 7))
	}))
	resp, raw := get(t, srv.URL, "gzip")
	for range 3 {
		if err := <-errs; err != nil {
			t.Errorf("ResponseController: %v", err)
		}
	}
	if resp.Header.Get("Content-Encoding") != "gzip" || !bytes.Equal(gunzipAll(t, raw), textBody(10<<10, 7)) {
		t.Fatal("body")
	}
}

// TestGzipHandlerReadFrom: io.Copy into the writer (which takes its
// ReadFrom) gives the same body, compressed or not.
func TestGzipHandlerReadFrom(t *testing.T) {
	for _, n := range []int{10, DefaultMinSize, 200 << 10} {
		body := textBody(n, 8)
		srv := gzipServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(w, struct{ io.Reader }{bytes.NewReader(body)}) // by ReadFrom
		}))
		resp, raw := get(t, srv.URL, "gzip")
		if resp.Header.Get("Content-Encoding") == "gzip" {
			raw = gunzipAll(t, raw)
		} else if n >= DefaultMinSize {
			t.Errorf("%d bytes not compressed", n)
		}
		if !bytes.Equal(raw, body) {
			t.Fatalf("%d bytes: got %d", n, len(raw))
		}
	}
}

// TestGzipHandlerReadFromEncoded: io.Copy into the writer of a response
// that is encoded already passes every byte through.
func TestGzipHandlerReadFromEncoded(t *testing.T) {
	body := textBody(100, 12)
	srv := gzipServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "br")
		io.Copy(w, struct{ io.Reader }{bytes.NewReader(body)}) // by ReadFrom
	}))
	resp, raw := get(t, srv.URL, "gzip")
	if resp.Header.Get("Content-Encoding") != "br" || !bytes.Equal(raw, body) {
		t.Fatalf("Content-Encoding %q, %d bytes; want br and the %d written", resp.Header.Get("Content-Encoding"), len(raw), len(body))
	}
}

// TestGzipHandlerOptions: levels and MinSize are honoured, bad ones
// refused.
func TestGzipHandlerOptions(t *testing.T) {
	body := textBody(200<<10, 9)
	sizes := map[int]int{}
	for _, level := range []int{1, 6, 9} {
		h, err := NewGzipHandler(bodyHandler(body, nil), GzipOptions{Level: level, MinSize: 300 << 10})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		resp, raw := get(t, srv.URL, "gzip")
		srv.Close()
		if resp.Header.Get("Content-Encoding") != "" || !bytes.Equal(raw, body) {
			t.Fatalf("compressed below MinSize")
		}
		h, _ = NewGzipHandler(bodyHandler(body, nil), GzipOptions{Level: level})
		srv = httptest.NewServer(h)
		_, raw = get(t, srv.URL, "gzip")
		srv.Close()
		if !bytes.Equal(gunzipAll(t, raw), body) {
			t.Fatalf("level %d: body", level)
		}
		sizes[level] = len(raw)
	}
	if sizes[1] == sizes[6] || sizes[6] == sizes[9] {
		t.Errorf("the levels made the same sizes: %v", sizes)
	}
	for _, bad := range []GzipOptions{{Level: 10}, {Level: -1}, {MinSize: -1}} {
		if _, err := NewGzipHandler(http.NotFoundHandler(), bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// TestGzipHandlerConcurrent: 64 clients at once, each body of its own
// size and content checked.
func TestGzipHandlerConcurrent(t *testing.T) {
	srv := gzipServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n, seed int
		fmt.Sscanf(r.URL.Query().Get("n"), "%d", &n)
		fmt.Sscanf(r.URL.Query().Get("seed"), "%d", &seed)
		b := textBody(n, seed)
		for len(b) > 0 { // in pieces, as handlers write
			k := min(len(b), 3000)
			w.Write(b[:k])
			b = b[k:]
		}
	}))
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr} // decodes gzip itself
	var wg sync.WaitGroup
	for c := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 8 {
				n := (c*7919 + i*104729) % (256 << 10)
				resp, err := client.Get(fmt.Sprintf("%s/?n=%d&seed=%d", srv.URL, n, c*100+i))
				if err != nil {
					t.Error(err)
					return
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || !bytes.Equal(got, textBody(n, c*100+i)) {
					t.Errorf("client %d request %d: %d bytes, %v; want %d", c, i, len(got), err, n)
					return
				}
				if n >= DefaultMinSize && !resp.Uncompressed {
					t.Errorf("client %d: %d bytes not compressed", c, n)
				}
			}
		}()
	}
	wg.Wait()
}

// TestGzipHandlerCurl: curl decodes what GzipHandler sends, and gets the
// plain body when it does not ask for gzip.
func TestGzipHandlerCurl(t *testing.T) {
	body := textBody(500<<10, 10)
	srv := gzipServer(t, bodyHandler(body, map[string]string{"Content-Type": "text/plain"}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, args := range [][]string{{"--compressed"}, {}} {
		out, err := exec.CommandContext(ctx, "curl", append([]string{"-sS", "-D", "/dev/stderr", srv.URL}, args...)...).Output()
		if err != nil {
			t.Fatalf("curl %v: %v", args, err)
		}
		if !bytes.Equal(out, body) {
			t.Fatalf("curl %v: %d bytes, want %d", args, len(out), len(body))
		}
	}
	var hdr bytes.Buffer
	cmd := exec.CommandContext(ctx, "curl", "-sS", "-o", "/dev/null", "-D", "-", "-H", "Accept-Encoding: gzip", srv.URL)
	cmd.Stdout = &hdr
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.ToLower(hdr.String()), "content-encoding: gzip") {
		t.Fatalf("curl's headers:\n%s", hdr.String())
	}
}

// TestGzipHandlerPanic: a handler that panics leaves no writer state
// behind for the next request.
func TestGzipHandlerPanic(t *testing.T) {
	body := textBody(64<<10, 11)
	srv := gzipServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(body)
		if r.URL.Path == "/panic" {
			panic(http.ErrAbortHandler)
		}
	}))
	for range 3 {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/panic", nil)
		req.Header.Set("Accept-Encoding", "gzip")
		if resp, err := http.DefaultTransport.RoundTrip(req); err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil {
				t.Fatal("a response cut by a panic read as complete")
			}
		}
		_, raw := get(t, srv.URL, "gzip")
		if !bytes.Equal(gunzipAll(t, raw), body) {
			t.Fatal("the request after a panic")
		}
	}
}
