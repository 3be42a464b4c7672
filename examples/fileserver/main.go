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
// GET and HEAD are served; a missing file is 404, other methods 405, a
// malformed request 400. The server never serves outside its root: ".."
// segments (percent-encoded or not) are refused, and so are symbolic links
// that lead out of the root (the kernel resolves paths beneath the root's
// descriptor, openat2 with RESOLVE_BENEATH).
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
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// logger reports failures that are the server's, not the client's.
var logger = log.New(os.Stderr, "fileserver: ", log.LstdFlags)

func main() {
	addr := flag.String("listen", "127.0.0.1:8080", "TCP address to listen on")
	dir := flag.String("dir", ".", "directory to serve")
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: fileserver [-listen ADDR] [-dir DIR]")
		os.Exit(2)
	}
	root, err := openRoot(*dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fileserver: %v\n", err)
		os.Exit(1)
	}
	defer root.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fileserver: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("Serving %s on http://%s/\n", *dir, ln.Addr())
	if err := serve(ln, root); err != nil {
		fmt.Fprintf(os.Stderr, "fileserver: %v\n", err)
		os.Exit(1)
	}
}

// serve accepts connections on ln and serves each in its own goroutine
// from root. It returns nil once ln is closed and every connection has
// ended, or the error that made Accept fail for good; transient failures
// (out of descriptors, aborted handshakes) are retried after a pause.
func serve(ln net.Listener, root *root) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	var pause time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			if !transient(err) {
				return err
			}
			pause = min(max(2*pause, 5*time.Millisecond), time.Second)
			logger.Printf("accept: %v; retrying in %v", err, pause)
			time.Sleep(pause)
			continue
		}
		pause = 0
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			serveConn(conn.(*net.TCPConn), root)
		}()
	}
}

// transient reports whether an Accept error is worth retrying.
func transient(err error) bool {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE,
		syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED} {
		if errors.Is(err, errno) {
			return true
		}
	}
	return false
}
