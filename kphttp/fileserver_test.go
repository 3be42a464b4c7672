package kphttp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// check is one request to the test site and what its response must be; it
// runs with Go's client and with curl.
type check struct {
	name string
	req  request
	want func(t *testing.T, x *exchange)
}

// expect is a set of assertions on an exchange: a status, header values
// ("" for a header that must be absent), a body, or a decoded gzip body.
type expect struct {
	status int
	header map[string]string
	body   []byte // nil: not checked
	gunzip []byte // non-nil: the body is gzip and decodes to this
	noBody bool   // the body must be empty
}

func (e expect) check(t *testing.T, x *exchange) {
	t.Helper()
	if x.status != e.status {
		t.Fatalf("status %d, want %d (header %v, body %.200q)", x.status, e.status, x.header, x.body)
	}
	for k, v := range e.header {
		if got := x.header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	if e.body != nil && !bytes.Equal(x.body, e.body) {
		t.Errorf("body of %d bytes differs from the %d wanted (%.80q)", len(x.body), len(e.body), x.body)
	}
	if e.gunzip != nil {
		if got := inflate(t, x.body); !bytes.Equal(got, e.gunzip) {
			t.Errorf("gzip body decodes to %d bytes that differ from the file's %d", len(got), len(e.gunzip))
		}
	}
	if e.noBody && len(x.body) != 0 {
		t.Errorf("a body of %d bytes, want none", len(x.body))
	}
	if bytes.Contains(x.body, []byte(siteSecret)) {
		t.Errorf("the secret outside the root was served")
	}
}

// siteChecks are the behaviours of FileServer that a client sees.
func siteChecks(t *testing.T, s *testSite) []check {
	big := s.files["/big.txt"]
	n := len(big)
	bigPath := filepath.Join(s.root, "big.txt")
	plainTag := fileETag(t, bigPath, false, "")
	gzTag := fileETag(t, bigPath, true, "-gz")
	fi, err := os.Stat(bigPath)
	if err != nil {
		t.Fatal(err)
	}
	lastMod := fi.ModTime().UTC().Format(http.TimeFormat)
	past := fi.ModTime().Add(-time.Hour).UTC().Format(http.TimeFormat)
	future := time.Now().Add(48 * time.Hour).UTC().Format(http.TimeFormat)
	const gz = "Accept-Encoding: gzip"
	const textPlain = "text/plain; charset=utf-8"
	plainWhole := expect{status: 200, body: big, header: map[string]string{
		"Content-Length": fmt.Sprint(n), "Content-Encoding": "", "Content-Type": textPlain,
		"Etag": plainTag, "Vary": "Accept-Encoding", "Accept-Ranges": "bytes", "Last-Modified": lastMod,
	}}
	gzipWhole := expect{status: 200, gunzip: big, header: map[string]string{
		"Content-Length": "", "Content-Encoding": "gzip", "Content-Type": textPlain,
		"Etag": gzTag, "Vary": "Accept-Encoding", "Last-Modified": lastMod,
	}}
	partial := func(from, to int) expect {
		return expect{status: 206, body: big[from : to+1], header: map[string]string{
			"Content-Range":    fmt.Sprintf("bytes %d-%d/%d", from, to, n),
			"Content-Length":   fmt.Sprint(to + 1 - from),
			"Content-Encoding": "", "Etag": plainTag,
		}}
	}
	notModified := func(tag string) expect {
		return expect{status: 304, noBody: true, header: map[string]string{"Etag": tag, "Content-Encoding": ""}}
	}
	redirect := func(loc string) expect {
		return expect{status: 301, header: map[string]string{"Location": loc}}
	}
	ok := func(p string) expect { return expect{status: 200, body: s.files[p]} }
	status := func(code int) expect { return expect{status: code} }
	get := func(p string, header ...string) request { return request{path: p, header: header} }

	preGz := s.gz["/pre.txt"]
	checks := []struct {
		name string
		req  request
		want expect
	}{
		{"plain whole", get("/big.txt"), plainWhole},
		{"gzip whole", get("/big.txt", gz), gzipWhole},
		{"gzip among codings", get("/big.txt", "Accept-Encoding: br;q=1, gzip;q=0.5"), gzipWhole},
		{"gzip refused", get("/big.txt", "Accept-Encoding: gzip;q=0, *"), plainWhole},
		{"range", get("/big.txt", "Range: bytes=10-19"), partial(10, 19)},
		{"range to a gzip client", get("/big.txt", gz, "Range: bytes=10-19"), partial(10, 19)},
		{"suffix range", get("/big.txt", gz, "Range: bytes=-100"), partial(n-100, n-1)},
		{"open range", get("/big.txt", gz, fmt.Sprintf("Range: bytes=%d-", n-5)), partial(n-5, n-1)},
		{"unsatisfiable range", get("/big.txt", gz, fmt.Sprintf("Range: bytes=%d-", n)),
			expect{status: 416, header: map[string]string{"Content-Range": fmt.Sprintf("bytes */%d", n)}}},
		{"If-Range with the ETag", get("/big.txt", gz, "Range: bytes=0-9", "If-Range: "+plainTag), partial(0, 9)},
		{"If-Range with the date", get("/big.txt", gz, "Range: bytes=0-9", "If-Range: "+lastMod), partial(0, 9)},
		{"If-Range with the gzip ETag", get("/big.txt", gz, "Range: bytes=0-9", "If-Range: "+gzTag), plainWhole},
		{"If-Range stale", get("/big.txt", "Range: bytes=0-9", "If-Range: "+past), plainWhole},
		{"If-Modified-Since", get("/big.txt", "If-Modified-Since: "+lastMod), notModified(plainTag)},
		{"If-Modified-Since gzip", get("/big.txt", gz, "If-Modified-Since: "+lastMod), notModified(gzTag)},
		{"If-Modified-Since future", get("/big.txt", "If-Modified-Since: "+future), notModified(plainTag)},
		{"If-Modified-Since future gzip", get("/big.txt", gz, "If-Modified-Since: "+future), notModified(gzTag)},
		{"If-Modified-Since past", get("/big.txt", "If-Modified-Since: "+past), plainWhole},
		{"If-Modified-Since past gzip", get("/big.txt", gz, "If-Modified-Since: "+past), gzipWhole},
		{"If-None-Match", get("/big.txt", "If-None-Match: "+plainTag), notModified(plainTag)},
		{"If-None-Match gzip", get("/big.txt", gz, "If-None-Match: "+gzTag), notModified(gzTag)},
		{"If-None-Match list", get("/big.txt", gz, `If-None-Match: "x", `+gzTag), notModified(gzTag)},
		{"If-None-Match star", get("/big.txt", "If-None-Match: *"), notModified(plainTag)},
		{"If-None-Match other representation", get("/big.txt", gz, "If-None-Match: "+plainTag), gzipWhole},
		{"If-None-Match over If-Modified-Since", get("/big.txt", gz, `If-None-Match: "other"`, "If-Modified-Since: "+lastMod), gzipWhole},
		{"If-Match", get("/big.txt", "If-Match: "+plainTag), plainWhole},
		{"If-Match fails", get("/big.txt", `If-Match: "other"`), status(412)},
		{"If-Match weak fails", get("/big.txt", gz, "If-Match: "+gzTag), status(412)},
		{"If-Unmodified-Since fails", get("/big.txt", gz, "If-Unmodified-Since: "+past), status(412)},
		{"HEAD", request{method: "HEAD", path: "/big.txt"}, expect{status: 200, noBody: true, header: map[string]string{
			"Content-Length": fmt.Sprint(n), "Etag": plainTag, "Content-Encoding": ""}}},
		{"HEAD gzip", request{method: "HEAD", path: "/big.txt", header: []string{gz}}, expect{status: 200, noBody: true, header: map[string]string{
			"Content-Length": "", "Etag": gzTag, "Content-Encoding": "gzip", "Content-Type": textPlain}}},
		{"css", get("/style.css", gz), expect{status: 200, gunzip: s.files["/style.css"], header: map[string]string{
			"Content-Type": "text/css; charset=utf-8", "Content-Encoding": "gzip"}}},
		{"js", get("/app.js", gz), expect{status: 200, gunzip: s.files["/app.js"], header: map[string]string{
			"Content-Type": "text/javascript; charset=utf-8", "Content-Encoding": "gzip"}}},
		{"json", get("/sub/deeper/x.json", gz), expect{status: 200, gunzip: s.files["/sub/deeper/x.json"], header: map[string]string{
			"Content-Type": "application/json", "Content-Encoding": "gzip"}}},
		{"png", get("/img/pic.png", gz), expect{status: 200, body: s.files["/img/pic.png"], header: map[string]string{
			"Content-Type": "image/png", "Content-Encoding": "", "Vary": "",
			"Content-Length": fmt.Sprint(len(s.files["/img/pic.png"]))}}},
		{"sniffed type", get("/notes", gz), expect{status: 200, gunzip: s.files["/notes"], header: map[string]string{
			"Content-Type": textPlain, "Content-Encoding": "gzip"}}},
		{"sniffed type plain", get("/notes"), expect{status: 200, body: s.files["/notes"], header: map[string]string{
			"Content-Type": textPlain, "Content-Encoding": "", "Vary": "Accept-Encoding"}}},
		{"binary", get("/data.bin", gz), expect{status: 200, body: s.files["/data.bin"], header: map[string]string{
			"Content-Type": "application/octet-stream", "Content-Encoding": "", "Vary": ""}}},
		{"too small to gzip", get("/small.txt", gz), expect{status: 200, body: s.files["/small.txt"], header: map[string]string{
			"Content-Encoding": "", "Vary": "", "Content-Length": fmt.Sprint(len(s.files["/small.txt"]))}}},
		{"empty", get("/empty.txt", gz), expect{status: 200, noBody: true, header: map[string]string{
			"Content-Length": "0", "Content-Encoding": ""}}},
		{"index.html", get("/"), expect{status: 200, body: s.files["/index.html"], header: map[string]string{
			"Content-Type": "text/html; charset=utf-8"}}},
		{"index.html of a subdirectory", get("/sub/"), ok("/sub/index.html")},
		{"index.html through a link", get("/in-dir/"), ok("/sub/index.html")},
		{"directory redirect", get("/sub"), redirect("sub/")},
		{"directory redirect with a query", get("/sub?a=1&b"), redirect("sub/?a=1&b")},
		{"deeper directory redirect", get("/sub/deeper"), redirect("deeper/")},
		{"index.html redirect", get("/sub/index.html"), redirect("./")},
		{"root index.html redirect", get("/index.html"), redirect("./")},
		{"file slash redirect", get("/small.txt/"), redirect("../small.txt")},
		{"precompressed", get("/pre.txt", gz), expect{status: 200, body: preGz, header: map[string]string{
			"Content-Encoding": "gzip", "Content-Type": textPlain, "Vary": "Accept-Encoding",
			"Content-Length": fmt.Sprint(len(preGz)),
			"Etag":           fileETag(t, filepath.Join(s.root, "pre.txt.gz"), false, "-gz")}}},
		{"precompressed If-None-Match", get("/pre.txt", gz, "If-None-Match: "+fileETag(t, filepath.Join(s.root, "pre.txt.gz"), false, "-gz")),
			notModified(fileETag(t, filepath.Join(s.root, "pre.txt.gz"), false, "-gz"))},
		{"precompressed If-Match fails", get("/pre.txt", gz, `If-Match: "other"`), expect{status: 412, noBody: true}},
		{"precompressed to a plain client", get("/pre.txt"), expect{status: 200, body: s.files["/pre.txt"], header: map[string]string{
			"Content-Encoding": "", "Etag": fileETag(t, filepath.Join(s.root, "pre.txt"), false, "")}}},
		{"precompressed range", get("/pre.txt", gz, "Range: bytes=0-99"), expect{status: 206, body: s.files["/pre.txt"][:100],
			header: map[string]string{"Content-Encoding": ""}}},
		{"stale precompressed", get("/stale.txt", gz), expect{status: 200, gunzip: s.files["/stale.txt"], header: map[string]string{
			"Content-Encoding": "gzip", "Etag": fileETag(t, filepath.Join(s.root, "stale.txt"), true, "-gz")}}},
		{"a .gz itself", get("/pre.txt.gz", gz), expect{status: 200, body: preGz, header: map[string]string{
			"Content-Encoding": "", "Content-Type": "application/gzip"}}},
		{"listing off", get("/nodex/"), status(404)},
		{"file in a directory without index.html", get("/nodex/a.txt"), ok("/nodex/a.txt")},
		{"escaped name", get("/with%20space%20%26%20sign"), ok("/with space & sign")},
		{"escaped letter", get("/sm%61ll.txt"), ok("/small.txt")},
		{"dot segment", get("/./small.txt"), ok("/small.txt")},
		{"double slash", get("//small.txt"), ok("/small.txt")},
		{"dots in the query", get("/small.txt?x=../../secret.txt"), ok("/small.txt")},
		{"link inside", get("/in-rel"), ok("/in-rel")},
		{"link through a directory inside", get("/in-dir/notes.txt"), ok("/sub/notes.txt")},
		{"link with dots that stay inside", get("/in-up"), ok("/big.txt")},
		{"POST", request{method: "POST", path: "/small.txt"}, expect{status: 405, header: map[string]string{"Allow": "GET, HEAD"}}},
		{"DELETE", request{method: "DELETE", path: "/small.txt"}, expect{status: 405, header: map[string]string{"Allow": "GET, HEAD"}}},
		{"OPTIONS", request{method: "OPTIONS", path: "/"}, expect{status: 405, header: map[string]string{"Allow": "GET, HEAD"}}},
		{"missing", get("/missing"), status(404)},
		{"missing below", get("/sub/missing.txt"), status(404)},
		{"below a file", get("/small.txt/below"), status(404)},
		{"NUL", get("/small.txt%00.png"), status(404)},
		{"link loop", get("/loop-link"), status(404)},
	}
	for _, p := range []string{
		"/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt", "/.%2e/secret.txt",
		"/..%2fsecret.txt", "/%2e%2e%2fsecret.txt", "/sub/..%2f..%2fsecret.txt",
		"/sub/../../secret.txt", "/sub/%2E%2E/../x", "/sub/../index.html", "/..", "/sub/..",
		"/out-abs", "/out-rel", "/out-dir/file", "/sub/up", "/etc-link/passwd", "/etc-link/",
		"/proc-link/passwd",
	} {
		checks = append(checks, struct {
			name string
			req  request
			want expect
		}{"outside " + p, get(p, gz), status(403)})
	}
	out := make([]check, len(checks))
	for i, c := range checks {
		out[i] = check{name: c.name, req: c.req, want: c.want.check}
	}
	return out
}

// TestFileServerGoClient runs every check with Go's client.
func TestFileServerGoClient(t *testing.T) {
	s := startSite(t)
	for _, c := range siteChecks(t, s) {
		t.Run(c.name, func(t *testing.T) { c.want(t, s.goDo(t, c.req)) })
	}
}

// TestFileServerCurl runs every check with curl.
func TestFileServerCurl(t *testing.T) {
	s := startSite(t)
	for _, c := range siteChecks(t, s) {
		t.Run(c.name, func(t *testing.T) { c.want(t, s.curlDo(t, c.req)) })
	}
}

// TestFileServerCurlDecodes: curl --compressed gets every file whole; the
// raw gzip body decodes with gzip(1); curl's own conditional and range
// options work.
func TestFileServerCurlDecodes(t *testing.T) {
	s := startSite(t)
	for _, p := range []string{"/big.txt", "/style.css", "/app.js", "/notes", "/pre.txt", "/stale.txt", "/img/pic.png", "/empty.txt"} {
		want := s.files[p]
		if got := runCurl(t, "--compressed", s.url+p); !bytes.Equal(got, want) {
			t.Errorf("curl --compressed %s: %d bytes, want %d", p, len(got), len(want))
		}
		if got := runCurl(t, s.url+p); !bytes.Equal(got, want) {
			t.Errorf("curl %s: %d bytes, want %d", p, len(got), len(want))
		}
	}
	raw := runCurl(t, "-H", "Accept-Encoding: gzip", s.url+"/big.txt")
	gunzip := exec.Command("gzip", "-dc")
	gunzip.Stdin = bytes.NewReader(raw)
	if got, err := gunzip.Output(); err != nil || !bytes.Equal(got, s.files["/big.txt"]) {
		t.Errorf("gzip -dc of the raw body: %d bytes, %v; want the %d of the file", len(got), err, len(s.files["/big.txt"]))
	}
	if got := runCurl(t, "-r", "100-199", s.url+"/big.txt"); !bytes.Equal(got, s.files["/big.txt"][100:200]) {
		t.Errorf("curl -r 100-199: %q", got)
	}
	code := func(args ...string) string {
		return string(runCurl(t, append([]string{"-o", "/dev/null", "-w", "%{http_code}"}, args...)...))
	}
	if got := code("-z", filepath.Join(s.root, "big.txt"), s.url+"/big.txt"); got != "304" {
		t.Errorf("curl -z FILE (If-Modified-Since its mtime): %s, want 304", got)
	}
	if got := code("--compressed", "-z", filepath.Join(s.root, "big.txt"), s.url+"/big.txt"); got != "304" {
		t.Errorf("curl --compressed -z FILE: %s, want 304", got)
	}
	etagFile := filepath.Join(t.TempDir(), "etag")
	runCurl(t, "--compressed", "--etag-save", etagFile, "-o", "/dev/null", s.url+"/big.txt")
	if saved, _ := os.ReadFile(etagFile); strings.TrimSpace(string(saved)) != fileETag(t, filepath.Join(s.root, "big.txt"), true, "-gz") {
		t.Errorf("curl --etag-save saved %q", saved)
	}
	if got := code("--compressed", "--etag-compare", etagFile, s.url+"/big.txt"); got != "304" {
		t.Errorf("curl --etag-compare: %s, want 304", got)
	}
	head := string(runCurl(t, "-I", s.url+"/big.txt"))
	if !strings.HasPrefix(head, "HTTP/1.1 200") || !strings.Contains(head, fmt.Sprintf("Content-Length: %d\r\n", len(s.files["/big.txt"]))) {
		t.Errorf("curl -I: %q", head)
	}
}

// TestFileServerRawRequests sends what no client that cleans its paths
// sends, and what no well-behaved client sends at all.
func TestFileServerRawRequests(t *testing.T) {
	s := startSite(t)
	for req, want := range map[string]string{
		"GET /../secret.txt HTTP/1.1\r\nHost: x\r\n\r\n":            "HTTP/1.1 403",
		"GET /sub/../../secret.txt HTTP/1.1\r\nHost: x\r\n\r\n":     "HTTP/1.1 403",
		"GET /%2e%2e/%2e%2e/secret.txt HTTP/1.1\r\nHost: x\r\n\r\n": "HTTP/1.1 403",
		"GET /..%2f..%2fsecret.txt HTTP/1.1\r\nHost: x\r\n\r\n":     "HTTP/1.1 403",
		"GET /.%2E/secret.txt HTTP/1.1\r\nHost: x\r\n\r\n":          "HTTP/1.1 403",
		"GET http://x/../secret.txt HTTP/1.1\r\nHost: x\r\n\r\n":    "HTTP/1.1 403",
		"GET /.. HTTP/1.1\r\nHost: x\r\n\r\n":                       "HTTP/1.1 403",
		"GET ../secret.txt HTTP/1.1\r\nHost: x\r\n\r\n":             "HTTP/1.1 400",
		"GET /out-rel HTTP/1.1\r\nHost: x\r\n\r\n":                  "HTTP/1.1 403",
		"GET /sub/up HTTP/1.1\r\nHost: x\r\n\r\n":                   "HTTP/1.1 403",
		"GARBAGE\r\n\r\n": "HTTP/1.1 400",
		"POST /small.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n": "HTTP/1.1 405",
		"GET /small.txt HTTP/1.0\r\n\r\n":                                  "HTTP/1.0 200",
	} {
		resp := rawRequest(t, s.addr, strings.Replace(req, "\r\n\r\n", "\r\nConnection: close\r\n\r\n", 1))
		if !strings.HasPrefix(resp, want) {
			t.Errorf("%q: got %.120q, want %s...", req, resp, want)
		}
		if strings.Contains(resp, siteSecret) {
			t.Errorf("%q: the secret outside the root was served", req)
		}
	}
	for _, ae := range []string{"", "Accept-Encoding: gzip\r\n"} {
		resp := rawRequest(t, s.addr, "HEAD /big.txt HTTP/1.1\r\nHost: x\r\n"+ae+"Connection: close\r\n\r\n")
		if !strings.HasPrefix(resp, "HTTP/1.1 200") || !strings.HasSuffix(resp, "\r\n\r\n") {
			t.Errorf("HEAD with %q: %q; want a 200 without a body", ae, resp)
		}
		if gz := strings.Contains(resp, "Content-Encoding: gzip\r\n"); gz != (ae != "") {
			t.Errorf("HEAD with %q: gzip %v", ae, gz)
		}
	}
}

// TestFileServerLikeNetHTTP: for requests without gzip, FileServer answers
// as http.FileServer does (status, body, and the headers a client acts
// on).
func TestFileServerLikeNetHTTP(t *testing.T) {
	s := writeSite(t)
	ours, theirs := FileServer(s.root), http.FileServer(http.Dir(s.root))
	fi, err := os.Stat(filepath.Join(s.root, "big.txt"))
	if err != nil {
		t.Fatal(err)
	}
	n := len(s.files["/big.txt"])
	date := func(d time.Duration) string { return fi.ModTime().Add(d).UTC().Format(http.TimeFormat) }
	for _, req := range []request{
		{path: "/big.txt"},
		{path: "/big.txt", header: []string{"Range: bytes=5-9"}},
		{path: "/big.txt", header: []string{"Range: bytes=-7"}},
		{path: "/big.txt", header: []string{fmt.Sprintf("Range: bytes=%d-", n)}},
		{path: "/big.txt", header: []string{"Range: bytes=0-0,10-10"}},
		{path: "/big.txt", header: []string{"If-Modified-Since: " + date(0)}},
		{path: "/big.txt", header: []string{"If-Modified-Since: " + date(48*time.Hour)}},
		{path: "/big.txt", header: []string{"If-Modified-Since: " + date(-time.Hour)}},
		{path: "/big.txt", header: []string{"If-Unmodified-Since: " + date(-time.Hour)}},
		{path: "/big.txt", header: []string{"Range: bytes=0-3", "If-Range: " + date(0)}},
		{path: "/big.txt", header: []string{"Range: bytes=0-3", "If-Range: " + date(-time.Hour)}},
		{method: "HEAD", path: "/big.txt"},
		{path: "/"}, {path: "/sub/"}, {path: "/sub"}, {path: "/sub?q=1"}, {path: "/sub/index.html"},
		{path: "/index.html"}, {path: "/small.txt/"}, {path: "/notes"}, {path: "/style.css"},
		{path: "/img/pic.png"}, {path: "/missing"}, {path: "/in-rel"}, {path: "/empty.txt"},
	} {
		do := func(h http.Handler) *httptest.ResponseRecorder {
			method := req.method
			if method == "" {
				method = "GET"
			}
			r := httptest.NewRequest(method, req.path, nil)
			for _, line := range req.header {
				k, v, _ := strings.Cut(line, ": ")
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			return w
		}
		a, b := do(ours), do(theirs)
		name := fmt.Sprintf("%s %s %q", req.method, req.path, req.header)
		if a.Code != b.Code {
			t.Errorf("%s: status %d, http.FileServer's %d", name, a.Code, b.Code)
			continue
		}
		if ct := b.Header().Get("Content-Type"); strings.HasPrefix(ct, "multipart/byteranges") {
			// Random boundaries: the type and the parts are what count.
			if got := a.Header().Get("Content-Type"); !strings.HasPrefix(got, "multipart/byteranges") {
				t.Errorf("%s: Content-Type %q, http.FileServer's %q", name, got, ct)
			}
			continue
		}
		for _, k := range []string{"Location", "Content-Range", "Content-Type", "Content-Length", "Last-Modified", "Accept-Ranges"} {
			switch {
			case a.Code == 304 && k == "Last-Modified":
				continue // dropped beside an ETag, as RFC 9110 (15.4.5) prefers
			case a.Code == 412 && k == "Content-Type":
				continue // set before the preconditions: no body either way
			}
			if ak, bk := a.Header().Get(k), b.Header().Get(k); ak != bk {
				t.Errorf("%s: %s %q, http.FileServer's %q", name, k, ak, bk)
			}
		}
		if !bytes.Equal(a.Body.Bytes(), b.Body.Bytes()) {
			t.Errorf("%s: body of %d bytes, http.FileServer's %d", name, a.Body.Len(), b.Body.Len())
		}
	}
}

// TestFileServerListing: with FileServerOptions.Listing a directory without
// index.html lists its entries, escaped; a directory with one still serves
// it.
func TestFileServerListing(t *testing.T) {
	s := writeSite(t)
	for _, name := range []string{`<b>&"q".txt`, "a:b", "zz"} {
		if err := os.WriteFile(filepath.Join(s.root, "nodex", name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(s.root, "nodex", "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	h, err := NewFileServer(s.root, FileServerOptions{Listing: true})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	s.serve(t, h)
	x := s.goDo(t, request{path: "/nodex/"})
	if x.status != 200 || x.header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("listing: %d %v", x.status, x.header)
	}
	want := "<pre>\n" +
		`<a href="%3Cb%3E&amp;%22q%22.txt">&lt;b&gt;&amp;&#34;q&#34;.txt</a>` + "\n" +
		`<a href="a.txt">a.txt</a>` + "\n" +
		`<a href="./a:b">a:b</a>` + "\n" +
		`<a href="dir/">dir/</a>` + "\n" +
		`<a href="zz">zz</a>` + "\n" +
		"</pre>\n"
	if !strings.HasSuffix(string(x.body), want) {
		t.Errorf("listing:\n%s\nwant it to end with\n%s", x.body, want)
	}
	if x := s.goDo(t, request{path: "/nodex/", header: []string{"If-Modified-Since: " + x.header.Get("Last-Modified")}}); x.status != 304 {
		t.Errorf("listing If-Modified-Since its Last-Modified: %d, want 304", x.status)
	}
	if x := s.goDo(t, request{path: "/sub/"}); x.status != 200 || !bytes.Equal(x.body, s.files["/sub/index.html"]) {
		t.Errorf("/sub/ with listings on: %d %q, want its index.html", x.status, x.body)
	}
	if x := s.goDo(t, request{path: "/out-dir/"}); x.status != 403 {
		t.Errorf("listing of a directory outside: %d, want 403", x.status)
	}
}

// TestFileServerConcurrent: 64 clients fetch every file at once, half of
// them asking for gzip; every body must be whole.
func TestFileServerConcurrent(t *testing.T) {
	s := startSite(t)
	tr := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	var wg sync.WaitGroup
	var gzipped, plain sync.Map
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p, want := range s.files {
				req, _ := http.NewRequest("GET", s.url+(&url.URL{Path: p}).EscapedPath(), nil)
				if i%2 == 0 {
					req.Header.Set("Accept-Encoding", "gzip")
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Errorf("client %d: GET %s: %v", i, p, err)
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil && resp.Header.Get("Content-Encoding") == "gzip" {
					gzipped.Store(p, true)
					body, err = io.ReadAll(mustGzipReader(body))
				} else {
					plain.Store(p, true)
				}
				if err != nil || resp.StatusCode != 200 || !bytes.Equal(body, want) {
					t.Errorf("client %d: GET %s: %d, %v, %d bytes, want %d", i, p, resp.StatusCode, err, len(body), len(want))
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, p := range []string{"/big.txt", "/app.js", "/pre.txt"} {
		if _, ok := gzipped.Load(p); !ok {
			t.Errorf("%s was never gzipped", p)
		}
		if _, ok := plain.Load(p); !ok {
			t.Errorf("%s was never sent plain", p)
		}
	}
}

// TestFileServerChromium loads the page in headless Chromium, which asks
// for gzip: the page's script, loaded from a linked file, must have run
// and seen the linked stylesheet applied and the image decoded. The
// script and stylesheet must have gone gzipped, the image and the small
// page plain.
func TestFileServerChromium(t *testing.T) {
	s := startSite(t)
	if dom := chromiumDOM(t, s.url+"/"); !strings.Contains(dom, siteChromiumSays) {
		t.Fatalf("the page's script did not report %q; DOM:\n%s", siteChromiumSays, dom)
	}
	for p, enc := range map[string]string{"/": "", "/style.css": "gzip", "/app.js": "gzip", "/img/pic.png": ""} {
		if got := s.sent.get(p); len(got) == 0 || got[0] != enc {
			t.Errorf("%s was sent to Chromium with Content-Encoding %q, want %q", p, got, enc)
		}
	}
}

// TestFileServerShutdown: under http.Server.Shutdown an idle connection
// closes at once, responses under way (plain by sendfile, and gzip) finish
// whole, and Shutdown returns once they have.
func TestFileServerShutdown(t *testing.T) {
	s := writeSite(t)
	big := siteText(16<<20, 9) // more than the socket buffers hold
	if err := os.WriteFile(filepath.Join(s.root, "huge.txt"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: FileServer(s.root)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer srv.Close()
	addr := ln.Addr().String()
	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(30 * time.Second))
		t.Cleanup(func() { c.Close() })
		return c
	}
	idle := dial()
	fmt.Fprintf(idle, "GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	idleR := newResponseReader(idle)
	if _, err := idleR.next(t); err != nil {
		t.Fatal(err)
	}
	type inFlight struct {
		r    *responseReader
		resp *http.Response
	}
	var busy []inFlight
	for _, ae := range []string{"", "Accept-Encoding: gzip\r\n"} {
		c := dial()
		fmt.Fprintf(c, "GET /huge.txt HTTP/1.1\r\nHost: x\r\n%s\r\n", ae)
		r := newResponseReader(c)
		resp, err := r.head(t)
		if err != nil {
			t.Fatal(err)
		}
		busy = append(busy, inFlight{r, resp})
	}
	time.Sleep(100 * time.Millisecond) // let the server fill the buffers

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		done <- srv.Shutdown(ctx)
	}()
	if b, err := io.ReadAll(idleR.br); err != nil || len(b) != 0 {
		t.Errorf("idle connection at shutdown: read %q, %v; want it closed", b, err)
	}
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v while responses were under way", err)
	case <-time.After(200 * time.Millisecond):
	}
	for _, b := range busy {
		body, err := io.ReadAll(b.resp.Body)
		b.resp.Body.Close()
		if err == nil && b.resp.Header.Get("Content-Encoding") == "gzip" {
			body, err = io.ReadAll(mustGzipReader(body))
		}
		if err != nil || !bytes.Equal(body, big) {
			t.Errorf("response under way at shutdown (%q): %d bytes, %v; want the %d of the file",
				b.resp.Header.Get("Content-Encoding"), len(body), err, len(big))
		}
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve: %v, want http.ErrServerClosed", err)
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Error("the server still accepts connections after Shutdown")
	}
}

// TestFileServerRoot: FileServer of a directory that is not there answers
// 500 until it appears, then serves it; NewFileServer reports the error;
// after Close every request is 500.
func TestFileServerRoot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "later")
	h := FileServer(dir)
	do := func(h http.Handler, p string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", p, nil))
		return w
	}
	if w := do(h, "/a.txt"); w.Code != 500 {
		t.Errorf("root missing: %d, want 500", w.Code)
	}
	if _, err := NewFileServer(dir, FileServerOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("NewFileServer of a missing directory: %v, want ErrNotExist", err)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte("here now\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if w := do(h, "/a.txt"); w.Code != 200 || w.Body.String() != "here now\n" {
		t.Errorf("root created: %d %q, want the file", w.Code, w.Body)
	}
	if _, err := NewFileServer(filepath.Join(dir, "a.txt"), FileServerOptions{}); err == nil {
		t.Error("NewFileServer of a regular file succeeded")
	}
	fh, err := NewFileServer(dir, FileServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if w := do(fh, "/a.txt"); w.Code != 200 {
		t.Errorf("NewFileServer: %d", w.Code)
	}
	if err := fh.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := fh.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if w := do(fh, "/a.txt"); w.Code != 500 {
		t.Errorf("after Close: %d, want 500", w.Code)
	}
	if err := h.(*FileHandler).Close(); err != nil {
		t.Errorf("Close of FileServer's handler: %v", err)
	}
}
