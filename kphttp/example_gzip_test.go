package kphttp_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/kpipe/kpipe/kphttp"
)

// GzipHandler wraps any handler: responses to clients that accept gzip are
// compressed by kpipe's engine, and Go's client decodes them on its own.
func ExampleGzipHandler() {
	mux := http.NewServeMux()
	mux.HandleFunc("/report", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		for i := range 1000 {
			fmt.Fprintf(w, "line %d: all systems nominal\n", i)
		}
	})
	srv := httptest.NewServer(kphttp.GzipHandler(mux))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/report") // asks for gzip by itself
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		panic(err)
	}
	fmt.Println("compressed on the wire:", resp.Uncompressed)
	fmt.Println("lines:", strings.Count(string(body), "\n"))
	// Output:
	// compressed on the wire: true
	// lines: 1000
}

// A handler that streams flushes as it goes: each flush reaches the client,
// compressed, before the handler writes more.
func ExampleGzipHandler_flush() {
	h := kphttp.GzipHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		for i := range 3 {
			fmt.Fprintf(w, "data: event %d\n\n", i)
			if err := rc.Flush(); err != nil {
				return
			}
		}
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()

	resp, err := http.Get(srv.URL)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(string(body))
	// Output:
	// data: event 0
	//
	// data: event 1
	//
	// data: event 2
}
