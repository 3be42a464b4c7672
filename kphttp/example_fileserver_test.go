package kphttp_test

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/kpipe/kpipe/kphttp"
)

// ExampleFileServer mounts a directory under /static/ of a mux. Go's
// client asks for gzip: the large text file comes gzipped by kpipe's
// engine (the client decodes it), the small one as it is.
func ExampleFileServer() {
	dir, err := os.MkdirTemp("", "kphttp-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello, kpipe\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "big.txt"), bytes.Repeat([]byte("kpipe moves bytes\n"), 1000), 0o644)

	mux := http.NewServeMux()
	mux.Handle("/static/", http.StripPrefix("/static/", kphttp.FileServer(dir)))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, name := range []string{"hello.txt", "big.txt"} {
		resp, err := http.Get(srv.URL + "/static/" + name)
		if err != nil {
			log.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %s, %s, %d bytes, gzipped %v\n",
			name, resp.Status, resp.Header.Get("Content-Type"), len(body), resp.Uncompressed)
	}
	// Output:
	// hello.txt: 200 OK, text/plain; charset=utf-8, 13 bytes, gzipped false
	// big.txt: 200 OK, text/plain; charset=utf-8, 18000 bytes, gzipped true
}
