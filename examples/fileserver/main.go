// Command fileserver is the zero-copy gzip file server of Polyphony's
// article, in Go: net/http's server running kphttp.FileServer on a
// directory.
//
// kphttp.FileServer answers as http.FileServer does (ranges, conditional
// requests, HEAD, index.html), with the bytes of a file kept out of the
// program where they can be. A plain body leaves by sendfile(2): net/http
// hands the *os.File to the kernel. When the client accepts gzip, a whole
// text file is gzipped by kpipe's engine as it goes, read by the C engine
// straight from the file, and net/http frames the compressed stream in
// chunks (Transfer-Encoding: chunked); a NAME.gz beside the file, if not
// older, is sent instead.
//
// `kpipe serve` runs the same handler, with a graceful shutdown.
//
// Usage:
//
//	go run ./examples/fileserver [-listen 127.0.0.1:8080] [-dir .]
//
// Then:
//
//	curl --compressed http://127.0.0.1:8080/README.md
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/kpipe/kpipe/kphttp"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:8080", "TCP address to listen on")
	dir := flag.String("dir", ".", "directory to serve")
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: fileserver [-listen ADDR] [-dir DIR]")
		os.Exit(2)
	}
	// FileServer never fails (it answers 500 while the directory cannot be
	// opened): check the directory here, to say so at once.
	if fi, err := os.Stat(*dir); err != nil {
		fmt.Fprintf(os.Stderr, "fileserver: %v\n", err)
		os.Exit(1)
	} else if !fi.IsDir() {
		fmt.Fprintf(os.Stderr, "fileserver: %s is not a directory\n", *dir)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fileserver: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("Serving %s on http://%s/\n", *dir, ln.Addr())
	srv := &http.Server{Handler: kphttp.FileServer(*dir), ReadHeaderTimeout: 30 * time.Second}
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintf(os.Stderr, "fileserver: %v\n", err)
		os.Exit(1)
	}
}
