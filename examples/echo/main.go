// Command echo is the splice echo server of Polyphony's "pipes and splice"
// article, in Go, in the article's two versions:
//
//   - -mode=double (the default) is the article's last, one-line handler,
//     IO.double_splice(conn, conn, -8192): kpipe.DoubleSplice(ctx, conn, conn)
//     moves what the client sends through a private pipe back to it, both
//     splices in flight at once, and the server then shuts its sending side
//     down.
//   - -mode=splice is the article's first splice version: every connection
//     gets its own kpipe.Pipe, one goroutine splices what the client sends
//     into the pipe and another splices the pipe back into the connection,
//     until the client stops sending.
//
// Either way the bytes never enter the program's memory, and a connection
// waiting for data holds no OS thread.
//
// Usage:
//
//	go run ./examples/echo [-listen 127.0.0.1:1234] [-mode double|splice]
//
// Try it with netcat; -N makes nc shut its side down at the end of its input,
// so that the server's echo ends and nc exits:
//
//	echo foobar | nc -N 127.0.0.1 1234
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"

	"github.com/kpipe/kpipe"
	"github.com/kpipe/kpipe/internal/accept"
)

// step is the most one splice moves at a time. The article splices 8 KiB at
// a time; a pipe holds 64 KiB by default, so steps of that size halve the
// system calls for bulk transfers and cost nothing for small ones.
const step = 64 << 10

// logger reports connection errors; a client going away is not one.
var logger = log.New(os.Stderr, "echo: ", log.LstdFlags)

// handlers maps the values of -mode to connection handlers.
var handlers = map[string]func(net.Conn) error{
	"double": handleDouble,
	"splice": handle,
}

// main parses the flags, listens and serves until the listener fails.
func main() {
	addr := flag.String("listen", "127.0.0.1:1234", "TCP address to listen on")
	mode := flag.String("mode", "double", "echo with kpipe.DoubleSplice (double) or with a Pipe and two Splice loops (splice)")
	flag.Parse()
	h, ok := handlers[*mode]
	if flag.NArg() != 0 || !ok {
		fmt.Fprintln(os.Stderr, "usage: echo [-listen ADDR] [-mode double|splice]")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "echo: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("Echoing on %s...\n", ln.Addr())
	if err := serve(ln, h); err != nil {
		fmt.Fprintf(os.Stderr, "echo: %v\n", err)
		os.Exit(1)
	}
}

// serve accepts connections on ln and echoes each with h in its own
// goroutine. It returns nil once ln is closed and every connection it
// accepted has ended, or the error that made Accept fail for good.
// Transient Accept failures (out of descriptors, aborted handshakes) are
// retried after a pause.
func serve(ln net.Listener, h func(net.Conn) error) error {
	return accept.Serve(ln, logger, h)
}

// handleDouble echoes one connection with the article's one-line handler,
//
//	IO.double_splice(conn, conn, -8192)
//
// that is kpipe.DoubleSplice(ctx, conn, conn), then shuts down the server's
// sending side so that the client sees the end of the echo, and closes the
// connection. As in handle, a client going away is not an error.
func handleDouble(conn net.Conn) error {
	defer conn.Close()
	_, err := kpipe.DoubleSplice(context.Background(), conn, conn)
	if err == nil {
		if cw, ok := conn.(interface{ CloseWrite() error }); ok {
			err = cw.CloseWrite()
		}
	}
	if err != nil && !accept.PeerGone(err) {
		return fmt.Errorf("double splice: %w", err)
	}
	return nil
}

// handle echoes one connection and closes it. Data goes conn -> pipe in one
// goroutine and pipe -> conn in this one, as in the article:
//
//	IO.splice(conn, pipe, -8192); pipe.close  # in a second fiber
//	IO.splice(pipe, conn, -8192)
//
// When the client shuts down its sending side, the pipe's write end is
// closed, the rest of the pipe is echoed, and the server shuts down its own
// sending side so that the client sees the end of the echo. A client that
// disconnects early ends both directions without an error: clients going
// away is normal for a server.
func handle(conn net.Conn) error {
	defer conn.Close()
	p, err := kpipe.NewPipe()
	if err != nil {
		return err
	}
	defer p.Close()

	inErr := make(chan error, 1)
	go func() {
		_, err := kpipe.Splice(p, conn, -step)
		// End of input, or a failure: either way no more data comes, and
		// the other direction finishes once the pipe is drained.
		p.CloseWrite()
		inErr <- err
	}()

	_, outErr := kpipe.Splice(conn, p, -step)
	if outErr != nil {
		// The echo cannot be delivered: stop the reading side too. Closing
		// the connection and the pipe wakes a splice waiting on either.
		conn.Close()
		p.Close()
	} else if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		// Everything was echoed: tell the client so (a FIN after the data).
		if err := cw.CloseWrite(); err != nil && !accept.PeerGone(err) {
			outErr = err
		}
	}
	err = <-inErr
	switch {
	case outErr != nil && !accept.PeerGone(outErr):
		return fmt.Errorf("echo: %w", outErr)
	case err != nil && !accept.PeerGone(err) && outErr == nil:
		return fmt.Errorf("receive: %w", err)
	}
	return nil
}
