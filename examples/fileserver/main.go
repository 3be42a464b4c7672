// Command fileserver is the zero-copy gzip file server of Polyphony's
// article, in Go: it serves a directory over HTTP/1.1 with keep-alive, and
// the bytes of a file never enter the program's memory.
//
// When the client accepts gzip, a file goes out with Content-Encoding: gzip
// and Transfer-Encoding: chunked: kpipe.Gzip compresses it from the file
// into a kernel pipe while kpipe.ChunkedTransfer splices the pipe into the
// socket in chunks, each framed by its size, the article's
//
//	file -> gzip -> pipe -> chunked framing -> socket
//
// Otherwise it goes out with a Content-Length, by sendfile(2) (kpipe.Copy).
// The server itself is the package internal/fileserver, which `kpipe serve`
// runs too; this command is a thin wrapper around it.
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
	"os"

	"github.com/kpipe/kpipe/internal/fileserver"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:8080", "TCP address to listen on")
	dir := flag.String("dir", ".", "directory to serve")
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: fileserver [-listen ADDR] [-dir DIR]")
		os.Exit(2)
	}
	srv, err := fileserver.Open(*dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fileserver: %v\n", err)
		os.Exit(1)
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fileserver: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("Serving %s on http://%s/\n", *dir, ln.Addr())
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintf(os.Stderr, "fileserver: %v\n", err)
		os.Exit(1)
	}
}
