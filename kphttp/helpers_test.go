package kphttp

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/kpipe/kpipe/internal/testprog"
)

// The file server's test site: an HTML page with a linked stylesheet,
// script and image, files of every kind the server tells apart (text to
// gzip, too small to gzip, binary, with and without an extension,
// precompressed fresh and stale, empty), a directory without index.html,
// and symbolic links that lead in and out of the root.
const (
	siteIndexHTML = `<!DOCTYPE html>
<html><head><title>kpipe</title><link rel="stylesheet" href="style.css">
<script src="app.js"></script></head>
<body><p id="msg">static</p><img id="pic" src="img/pic.png" alt="pic"></body></html>
`
	siteStyleCSS = "p { color: green; }\n"
	siteAppJS    = `window.addEventListener("load", function () {
  var msg = document.getElementById("msg"), pic = document.getElementById("pic");
  msg.textContent = "script ran: " + getComputedStyle(msg).color +
    " image " + pic.naturalWidth + "x" + pic.naturalHeight;
});
`
	// siteChromiumSays is what the page's script writes once the
	// stylesheet and the image have loaded.
	siteChromiumSays = "script ran: rgb(0, 128, 0) image 40x30"
	siteSecret       = "top secret"
)

// testSite is the site served by FileServer on a real listener.
type testSite struct {
	root   string            // the served directory
	url    string            // http://ADDR
	addr   string            // ADDR
	secret string            // a file outside the root
	files  map[string][]byte // every regular file, by URL path
	gz     map[string][]byte // the precompressed NAME.gz files, by URL path of NAME
	client *http.Client      // no transparent gzip, no redirects followed
	sent   *encodingLog
}

// encodingLog records the Content-Encoding each path was answered with.
type encodingLog struct {
	mu  sync.Mutex
	enc map[string][]string
}

func (l *encodingLog) add(path, enc string) {
	l.mu.Lock()
	l.enc[path] = append(l.enc[path], enc)
	l.mu.Unlock()
}

func (l *encodingLog) get(path string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.enc[path]...)
}

// padded is s followed by comment lines up to about n bytes, so that it is
// worth gzipping.
func padded(s, open, close string, n int) string {
	var b strings.Builder
	b.WriteString(s)
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "%s padding line %d, there to make the file worth compressing %s\n", open, i, close)
	}
	return b.String()
}

// siteText is n bytes of text that compresses as prose does.
func siteText(n int, seed int64) []byte {
	rng := rand.New(rand.NewSource(seed))
	words := []string{"kpipe", "moves", "bytes", "between", "descriptors", "without", "copying", "them", "splice", "gzip", "kernel", "pipe"}
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(words[rng.Intn(len(words))])
		if rng.Intn(9) == 0 {
			b.WriteByte('\n')
		} else {
			b.WriteByte(' ')
		}
	}
	return b.Bytes()[:n]
}

// sitePNG is a 40x30 PNG of noise.
func sitePNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 40, 30))
	rng := rand.New(rand.NewSource(1))
	for y := 0; y < 30; y++ {
		for x := 0; x < 40; x++ {
			img.Set(x, y, color.NRGBA{uint8(rng.Intn(256)), uint8(rng.Intn(256)), uint8(rng.Intn(256)), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// gzipBytes compresses b with compress/gzip, naming the member so that its
// bytes cannot be mistaken for kpipe's.
func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, gzip.BestCompression)
	zw.Name = "precompressed"
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// inflate decodes a whole gzip body.
func inflate(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not gzip (%d bytes): %v", len(b), err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gzip body: %v", err)
	}
	return out
}

// writeSite writes the site's tree under a new directory and returns it,
// without serving it.
func writeSite(t *testing.T) *testSite {
	t.Helper()
	base := t.TempDir()
	s := &testSite{
		root:   filepath.Join(base, "www"),
		secret: filepath.Join(base, "secret.txt"),
		files:  map[string][]byte{},
		gz:     map[string][]byte{},
	}
	rng := rand.New(rand.NewSource(7))
	bin := make([]byte, 256<<10+3)
	rng.Read(bin)
	files := map[string][]byte{
		"/index.html":         []byte(siteIndexHTML),
		"/style.css":          []byte(padded(siteStyleCSS, "/*", "*/", 2000)),
		"/app.js":             []byte(padded(siteAppJS, "/*", "*/", 3000)),
		"/img/pic.png":        sitePNG(t),
		"/data.bin":           bin,
		"/big.txt":            siteText(300<<10+11, 1),
		"/notes":              siteText(5000, 2), // no extension: sniffed
		"/small.txt":          []byte("too small to gain from gzip\n"),
		"/empty.txt":          nil,
		"/sub/index.html":     []byte("<p>sub</p>\n"),
		"/sub/notes.txt":      siteText(20000, 3),
		"/nodex/a.txt":        []byte("in a directory without index.html\n"),
		"/pre.txt":            siteText(40000, 4),
		"/stale.txt":          siteText(40000, 5),
		"/with space & sign":  siteText(3000, 6),
		"/sub/deeper/x.json":  []byte(padded(`{"kpipe": true}`, "", "", 2000)),
		"/../secret.txt":      []byte(siteSecret + "\n"),
		"/../secret-dir/file": []byte(siteSecret + " in a directory\n"),
	}
	for name, body := range files {
		p := filepath.Join(s.root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(name, "/../") {
			s.files[name] = body
		}
	}
	// pre.txt.gz is newer than pre.txt, stale.txt.gz older than stale.txt.
	now := time.Now()
	for name, age := range map[string]time.Duration{"/pre.txt": time.Hour, "/stale.txt": -time.Hour} {
		gz := gzipBytes(t, s.files[name])
		p := filepath.Join(s.root, name[1:])
		if err := os.Chtimes(p, now.Add(-2*time.Hour), now.Add(-2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		testprog.WriteFileAt(t, p+".gz", gz, 0o644, now.Add(-2*time.Hour+age))
		s.gz[name] = gz
		s.files[name+".gz"] = gz
	}
	for link, target := range map[string]string{
		"out-abs":   s.secret,              // absolute, out of the root
		"out-rel":   "../secret.txt",       // relative, out of the root
		"out-dir":   "../secret-dir",       // a directory outside
		"in-rel":    "sub/notes.txt",       // stays inside
		"in-dir":    "sub",                 // a directory inside
		"in-up":     "sub/../big.txt",      // ".." that stays inside
		"etc-link":  "/etc",                // a system directory
		"loop-link": "loop-link",           // a loop
		"proc-link": "/proc/self/root/etc", // a magic link path
		"sub/up":    "../../secret.txt",    // out, from below
	} {
		if err := os.Symlink(target, filepath.Join(s.root, filepath.FromSlash(link))); err != nil {
			t.Fatal(err)
		}
	}
	s.files["/in-rel"] = s.files["/sub/notes.txt"]
	s.files["/in-up"] = s.files["/big.txt"]
	s.files["/in-dir/notes.txt"] = s.files["/sub/notes.txt"]
	return s
}

// startSite writes the site and serves it with FileServer until the test
// ends.
func startSite(t *testing.T) *testSite {
	t.Helper()
	s := writeSite(t)
	s.serve(t, FileServer(s.root))
	return s
}

// serve serves h on a real listener until the test ends, recording the
// Content-Encoding of each response (from the header map after the
// handler: the ResponseWriter is not wrapped, so plain bodies still leave
// by sendfile).
func (s *testSite) serve(t *testing.T, h http.Handler) {
	t.Helper()
	s.sent = &encodingLog{enc: map[string][]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		s.sent.add(r.URL.Path, w.Header().Get("Content-Encoding"))
	}))
	t.Cleanup(srv.Close)
	tr := &http.Transport{DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	s.client = &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
	s.url = srv.URL
	s.addr = strings.TrimPrefix(srv.URL, "http://")
}

// exchange is a response as a client saw it: status, header and the body
// as it came (not decoded).
type exchange struct {
	status int
	header http.Header
	body   []byte
}

// request is what a check sends: a method, a path sent as it is, and
// header lines.
type request struct {
	method string
	path   string
	header []string // "Key: value"
}

// goDo sends req with Go's client.
func (s *testSite) goDo(t *testing.T, req request) *exchange {
	t.Helper()
	method := req.method
	if method == "" {
		method = http.MethodGet
	}
	r, err := http.NewRequest(method, s.url+req.path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range req.header {
		k, v, _ := strings.Cut(line, ": ")
		r.Header.Set(k, v)
	}
	resp, err := s.client.Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", method, req.path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: body: %v", method, req.path, err)
	}
	if resp.ContentLength < 0 {
		resp.Header.Del("Content-Length") // as the wire had it
	}
	return &exchange{status: resp.StatusCode, header: resp.Header, body: body}
}

// curlDo sends req with curl, the path as it is.
func (s *testSite) curlDo(t *testing.T, req request) *exchange {
	t.Helper()
	dir := t.TempDir()
	hdrFile, bodyFile := filepath.Join(dir, "header"), filepath.Join(dir, "body")
	args := []string{"--path-as-is", "-D", hdrFile, "-o", bodyFile}
	switch req.method {
	case "", http.MethodGet:
	case http.MethodHead:
		args = append(args, "-I") // -X HEAD would wait for a body
	default:
		args = append(args, "-X", req.method)
	}
	for _, line := range req.header {
		args = append(args, "-H", line)
	}
	runCurl(t, append(args, s.url+req.path)...)
	hdr, err := os.ReadFile(hdrFile)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(hdr)), nil)
	if err != nil {
		t.Fatalf("curl's header dump %q: %v", hdr, err)
	}
	if req.method == http.MethodHead {
		// curl -I reads no body (the raw test checks that none is sent)
		// and writes the header to -o's file.
		return &exchange{status: resp.StatusCode, header: resp.Header}
	}
	body, err := os.ReadFile(bodyFile)
	if os.IsNotExist(err) {
		err = nil // no body: curl creates no file
	}
	if err != nil {
		t.Fatal(err)
	}
	return &exchange{status: resp.StatusCode, header: resp.Header, body: body}
}

// runCurl runs the real curl and returns its standard output.
func runCurl(t *testing.T, args ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is not installed: run make deps")
	}
	cmd := exec.Command("curl", append([]string{"-sS", "--max-time", "30"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("curl %q: %v: %s", args, err, stderr.String())
	}
	return out
}

// rawRequest sends req as it is on a new connection and returns all that
// comes back until the server closes it.
func rawRequest(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("%q: %v after %q", req, err, resp)
	}
	return string(resp)
}

// chromiumDOM loads url in headless Chromium and returns the page's DOM once
// its scripts have run.
func chromiumDOM(t *testing.T, url string) string {
	t.Helper()
	var bin string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Fatal("no Chromium found: run make deps")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-dev-shm-usage", "--no-first-run", "--user-data-dir="+t.TempDir(),
		"--virtual-time-budget=5000", "--dump-dom", url)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	return string(out)
}

// fileETag is the ETag FileServer gives the file at p, with suffix.
func fileETag(t *testing.T, p string, weak bool, suffix string) string {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	tag := fmt.Sprintf(`"%x-%x%s"`, fi.ModTime().UnixNano(), fi.Size(), suffix)
	if weak {
		tag = "W/" + tag
	}
	return tag
}

// mustGzipReader decodes the gzip body b; a body that is not gzip fails the
// reads.
func mustGzipReader(b []byte) io.Reader {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return iotest.ErrReader(err)
	}
	return zr
}

// responseReader reads the responses that come on one raw connection.
type responseReader struct {
	br *bufio.Reader
}

func newResponseReader(c net.Conn) *responseReader {
	return &responseReader{br: bufio.NewReader(c)}
}

// head reads the next response's header; its body is left to read.
func (r *responseReader) head(t *testing.T) (*http.Response, error) {
	t.Helper()
	return http.ReadResponse(r.br, nil)
}

// next reads the next response whole and returns its body.
func (r *responseReader) next(t *testing.T) ([]byte, error) {
	t.Helper()
	resp, err := r.head(t)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}
