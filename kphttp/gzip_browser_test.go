package kphttp

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestGzipHandlerChromium loads a page, its stylesheet, script and image
// through GzipHandler in headless Chromium, which asks for gzip: the
// script, compressed, must have run, seen the stylesheet applied and the
// image decoded.
func TestGzipHandlerChromium(t *testing.T) {
	pad := "/* " + strings.Repeat("padding so that the body passes MinSize ", 100) + " */\n"
	files := map[string]struct{ ctype, body string }{
		"/": {"text/html; charset=utf-8", `<!DOCTYPE html><html><head>
<link rel="stylesheet" href="/style.css"><script src="/app.js" defer></script></head>
<body><p id="out">script did not run</p><img id="img" src="/img.png">
<!-- ` + strings.Repeat("padding ", 300) + ` --></body></html>`},
		"/style.css": {"text/css; charset=utf-8", pad + "#out { color: rgb(0, 128, 0); }\n"},
		"/app.js": {"text/javascript; charset=utf-8", pad + `window.addEventListener("load", () => {
  const out = document.getElementById("out"), img = document.getElementById("img");
  out.textContent = "script ran: " + getComputedStyle(out).color + " image " + img.naturalWidth + "x" + img.naturalHeight;
});
`},
		"/img.png": {"image/png", string(sitePNG(t))},
	}
	var mu sync.Mutex
	encodings := map[string]string{}
	h := GzipHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", f.ctype)
		w.Write([]byte(f.body))
	}))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		mu.Lock()
		encodings[r.URL.Path] = w.Header().Get("Content-Encoding")
		mu.Unlock()
	}))
	defer srv.Close()

	dom := chromiumDOM(t, srv.URL+"/")
	if !strings.Contains(dom, "script ran: rgb(0, 128, 0) image 40x30") {
		t.Fatalf("the page did not load whole; DOM:\n%s", dom)
	}
	mu.Lock()
	defer mu.Unlock()
	for path, want := range map[string]string{"/": "gzip", "/style.css": "gzip", "/app.js": "gzip", "/img.png": ""} {
		if encodings[path] != want {
			t.Errorf("%s went out with Content-Encoding %q, want %q", path, encodings[path], want)
		}
	}
}
