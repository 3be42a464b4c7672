package fileserver

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// site is the served tree: an HTML page with a linked stylesheet and
// script, a binary file, and links that lead in and out of the root.
type site struct {
	root   string
	url    string // http://ADDR
	big    []byte // /data.bin
	secret string // a file outside the root
	srv    *Server
}

const (
	indexHTML = `<!DOCTYPE html>
<html><head><title>kpipe</title><link rel="stylesheet" href="style.css">
<script src="app.js"></script></head>
<body><p id="msg">static</p></body></html>
`
	styleCSS = "p { color: green; }\n"
	appJS    = `document.addEventListener("DOMContentLoaded", function () {
  document.getElementById("msg").textContent = "script ran: " + getComputedStyle(document.getElementById("msg")).color;
});
`
)

// startSite writes the tree and serves it in-process until the test ends.
func startSite(t *testing.T) *site {
	t.Helper()
	base := t.TempDir()
	s := &site{root: filepath.Join(base, "www"), secret: filepath.Join(base, "secret.txt")}
	s.big = make([]byte, 1<<20+7)
	rand.Read(s.big)
	files := map[string]string{
		"index.html":     indexHTML,
		"style.css":      styleCSS,
		"app.js":         appJS,
		"data.bin":       string(s.big),
		"sub/notes.txt":  strings.Repeat("kpipe notes\n", 5000),
		"empty.txt":      "",
		"../secret.txt":  "top secret\n",
		"sub/index.html": "<p>sub</p>\n",
	}
	for name, body := range files {
		p := filepath.Join(s.root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"out-abs":   s.secret,              // absolute, out of the root
		"out-rel":   "../secret.txt",       // relative, out of the root
		"in-rel":    "sub/notes.txt",       // stays inside
		"etc-link":  "/etc",                // a directory outside
		"loop-link": "loop-link",           // a loop
		"proc-link": "/proc/self/root/etc", // a magic link path
	} {
		if err := os.Symlink(target, filepath.Join(s.root, link)); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := Open(s.root)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ln.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		srv.Close()
	})
	s.srv = srv
	s.url = "http://" + ln.Addr().String()
	return s
}

// want is the body a path must serve.
func (s *site) want(t *testing.T, urlPath string) []byte {
	t.Helper()
	name := strings.TrimPrefix(urlPath, "/")
	if name == "" || strings.HasSuffix(name, "/") {
		name += "index.html"
	}
	b, err := os.ReadFile(filepath.Join(s.root, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var servedPaths = []string{"/", "/index.html", "/style.css", "/app.js", "/data.bin", "/sub/notes.txt", "/sub/", "/empty.txt", "/in-rel"}

// TestGoClientGzip: Go's client asks for gzip, gets it chunked, and decodes
// every file whole, over kept-alive connections.
func TestGoClientGzip(t *testing.T) {
	s := startSite(t)
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	reused := 0
	for _, p := range servedPaths {
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) {
				if info.Reused {
					reused++
				}
			},
		})
		req, _ := http.NewRequestWithContext(ctx, "GET", s.url+p, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", p, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d, %v", p, resp.StatusCode, err)
		}
		if !resp.Uncompressed {
			t.Errorf("GET %s: the response was not gzipped", p)
		}
		if len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
			t.Errorf("GET %s: Transfer-Encoding %v, want chunked", p, resp.TransferEncoding)
		}
		if !bytes.Equal(body, s.want(t, p)) {
			t.Errorf("GET %s: %d bytes differ from the file's %d", p, len(body), len(s.want(t, p)))
		}
	}
	if reused < len(servedPaths)-1 {
		t.Errorf("%d of %d requests reused a connection; want keep-alive for all but the first", reused, len(servedPaths))
	}
}

// TestGoClientPlain: without gzip, a file goes with its Content-Length.
func TestGoClientPlain(t *testing.T) {
	s := startSite(t)
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer client.CloseIdleConnections()
	for _, p := range servedPaths {
		resp, err := client.Get(s.url + p)
		if err != nil {
			t.Fatalf("GET %s: %v", p, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := s.want(t, p)
		if err != nil || resp.StatusCode != 200 || !bytes.Equal(body, want) {
			t.Fatalf("GET %s: %d, %v, %d bytes, want %d", p, resp.StatusCode, err, len(body), len(want))
		}
		if resp.ContentLength != int64(len(want)) || resp.Header.Get("Content-Encoding") != "" {
			t.Errorf("GET %s: Content-Length %d, Content-Encoding %q; want %d and none",
				p, resp.ContentLength, resp.Header.Get("Content-Encoding"), len(want))
		}
	}
	resp, err := client.Get(s.url + "/style.css")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Errorf("Content-Type of style.css: %q", ct)
	}
}

// curl runs the real curl and returns its standard output.
func curl(t *testing.T, args ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is not installed: run make deps")
	}
	cmd := exec.Command("curl", append([]string{"-sS", "--max-time", "30"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("curl %v: %v: %s", args, err, stderr.String())
	}
	return out
}

// TestCurl talks to the server with the real curl: compressed and not, a
// raw gzip body checked with gzip(1), HEAD, and the refusals.
func TestCurl(t *testing.T) {
	s := startSite(t)
	for _, p := range []string{"/data.bin", "/sub/notes.txt", "/index.html", "/empty.txt"} {
		want := s.want(t, p)
		if got := curl(t, "--compressed", s.url+p); !bytes.Equal(got, want) {
			t.Errorf("curl --compressed %s: %d bytes, want %d", p, len(got), len(want))
		}
		if got := curl(t, s.url+p); !bytes.Equal(got, want) {
			t.Errorf("curl %s: %d bytes, want %d", p, len(got), len(want))
		}
		raw := curl(t, "-H", "Accept-Encoding: gzip", s.url+p)
		gunzip := exec.Command("gzip", "-dc")
		gunzip.Stdin = bytes.NewReader(raw)
		if got, err := gunzip.Output(); err != nil || !bytes.Equal(got, want) {
			t.Errorf("gzip -dc of the raw body of %s: %d bytes, %v; want %d", p, len(got), err, len(want))
		}
	}
	head := string(curl(t, "-I", s.url+"/data.bin"))
	if !strings.Contains(head, "HTTP/1.1 200") || !strings.Contains(head, fmt.Sprintf("Content-Length: %d", len(s.big))) {
		t.Errorf("curl -I: %q", head)
	}
	for path, code := range map[string]string{
		"/../secret.txt":       "403",
		"/%2e%2e/secret.txt":   "403",
		"/sub/%2E%2E/../x":     "403",
		"/..%2fsecret.txt":     "403",
		"/out-abs":             "403",
		"/out-rel":             "403",
		"/etc-link/passwd":     "403",
		"/proc-link/passwd":    "403",
		"/loop-link":           "404",
		"/missing":             "404",
		"/sub/missing.txt":     "404",
		"/data.bin/below":      "404",
		"/in-rel":              "200",
		"/%64ata.bin":          "200",
		"/sub/../index.html":   "403",
		"/./index.html":        "200",
		"//index.html":         "200",
		"/index.html?x=../..":  "200",
		"/index.html#fragment": "200",
	} {
		got := string(curl(t, "--path-as-is", "-o", "/dev/null", "-w", "%{http_code}", s.url+path))
		if got != code {
			t.Errorf("GET %s: status %s, want %s", path, got, code)
		}
	}
	if got := string(curl(t, "-X", "DELETE", "-o", "/dev/null", "-w", "%{http_code}", s.url+"/index.html")); got != "405" {
		t.Errorf("DELETE: status %s, want 405", got)
	}
	if bytes.Contains(curl(t, "--path-as-is", s.url+"/../secret.txt"), []byte("top secret")) {
		t.Error("the secret outside the root was served")
	}
}

// TestRawRequests sends what no well-behaved client sends.
func TestRawRequests(t *testing.T) {
	s := startSite(t)
	addr := strings.TrimPrefix(s.url, "http://")
	for req, want := range map[string]string{
		"GARBAGE\r\n\r\n":                                                 "HTTP/1.1 400",
		"GET /index.html HTTP/1.1\r\nHost\r\n\r\n":                        "HTTP/1.1 400",
		"POST /index.html HTTP/1.1\r\nHost: x\r\n\r\n":                    "HTTP/1.1 405",
		"HEAD /data.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n": "HTTP/1.1 200",
	} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		resp, err := io.ReadAll(c) // each of these ends with the server closing
		c.Close()
		if err != nil || !strings.HasPrefix(string(resp), want) {
			t.Errorf("%q: got %q, %v; want %s...", req, resp, err, want)
		}
		if strings.HasPrefix(req, "HEAD") && !strings.HasSuffix(string(resp), "\r\n\r\n") {
			t.Errorf("HEAD response carries a body: %q", resp)
		}
	}
}

// TestGzipBodyIsChunked reads a gzip response off the wire and decodes its
// framing by hand: hex sizes, CRLFs, the last chunk.
func TestGzipBodyIsChunked(t *testing.T) {
	s := startSite(t)
	c, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(c, "GET /data.bin HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("headers %v", resp.Header)
	}
	zr, err := gzip.NewReader(resp.Body) // net/http removes the chunk framing
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(got, s.big) {
		t.Fatalf("decoded %d bytes, %v; want the %d of data.bin", len(got), err, len(s.big))
	}
}

// browser finds a headless-capable Chromium.
func browser(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium found: run make deps")
	return ""
}

// TestChromium loads the page in headless Chromium, which asks for gzip:
// the page's script, loaded from a linked file, must have run and seen the
// linked stylesheet applied.
func TestChromium(t *testing.T) {
	s := startSite(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser(t), "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-dev-shm-usage", "--no-first-run", "--user-data-dir="+t.TempDir(),
		"--virtual-time-budget=5000", "--dump-dom", s.url+"/")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	if !bytes.Contains(out, []byte("script ran: rgb(0, 128, 0)")) {
		t.Fatalf("the page's script did not run with the stylesheet applied; DOM:\n%s\nstderr:\n%s", out, stderr.String())
	}
}

// TestShutdown checks the graceful stop: an idle kept-alive connection is
// closed at once, a response under way finishes whole (and says
// Connection: close), and Shutdown returns once it has; with a client that
// never reads, Shutdown gives up at its context's end and closes the
// connection.
func TestShutdown(t *testing.T) {
	s := startSite(t)
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<20) // 16 MiB: more than the socket buffers hold
	if err := os.WriteFile(filepath.Join(s.root, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimPrefix(s.url, "http://")
	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(20 * time.Second))
		t.Cleanup(func() { c.Close() })
		return c
	}

	// An idle connection, after one request.
	idle := dial()
	idleR := bufio.NewReader(idle)
	fmt.Fprintf(idle, "GET /style.css HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(idleR, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	// A response under way: the headers are read, the body waits.
	busy := dial()
	busyR := bufio.NewReader(busy)
	fmt.Fprintf(busy, "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err = http.ReadResponse(busyR, nil)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let the server fill the buffers

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		done <- s.srv.Shutdown(ctx)
	}()
	if b, err := io.ReadAll(idleR); err != nil || len(b) != 0 {
		t.Errorf("idle connection at shutdown: read %q, %v; want the connection closed", b, err)
	}
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v while a response was under way", err)
	case <-time.After(200 * time.Millisecond):
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(body, big) {
		t.Errorf("response under way at shutdown: %d bytes, %v; want the %d of the file", len(body), err, len(big))
	}
	if rest, err := io.ReadAll(busyR); err != nil || len(rest) != 0 {
		t.Errorf("after the last response: %q, %v; want the connection closed", rest, err)
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Error("the server still accepts connections after Shutdown")
	}
}

// TestShutdownTimeout checks that Shutdown closes a connection whose client
// does not read once its context ends, and reports that.
func TestShutdownTimeout(t *testing.T) {
	s := startSite(t)
	big := bytes.Repeat([]byte("z"), 16<<20)
	if err := os.WriteFile(filepath.Join(s.root, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(100 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := s.srv.Shutdown(ctx); err != context.DeadlineExceeded {
		t.Errorf("Shutdown: %v, want %v", err, context.DeadlineExceeded)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Shutdown took %v after its context ended", d)
	}
}
