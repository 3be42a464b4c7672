// Command tcpproxy is the TCP proxy of Polyphony's "pipes and splice"
// article, in Go. For every connection it accepts it dials the upstream
// server and moves bytes both ways with kpipe.Proxy, the article's
//
//	spin { IO.double_splice(conn, dest, -8192) }
//	IO.double_splice(dest, conn, -8192)
//
// Each direction is a double splice through a private pipe, and each is
// half-closed at its end of input, so that a client's shutdown reaches the
// upstream server and the server's reply still reaches the client. The
// bytes never enter the program's memory, and an idle connection holds no
// OS thread.
//
// Usage:
//
//	go run ./examples/tcpproxy [-listen 127.0.0.1:4321] [-to 127.0.0.1:1234]
//
// With the echo example listening on 127.0.0.1:1234:
//
//	echo foobar | nc -N 127.0.0.1 4321
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"time"

	"github.com/kpipe/kpipe"
	"github.com/kpipe/kpipe/internal/accept"
)

// dialTimeout bounds how long a connection waits for the upstream server.
const dialTimeout = 10 * time.Second

// logger reports connection errors; a peer going away is not one.
var logger = log.New(os.Stderr, "tcpproxy: ", log.LstdFlags)

// main parses the flags, listens and proxies until the listener fails.
func main() {
	addr := flag.String("listen", "127.0.0.1:4321", "TCP address to listen on")
	to := flag.String("to", "127.0.0.1:1234", "TCP address of the upstream server")
	flag.Parse()
	if flag.NArg() != 0 || *to == "" {
		fmt.Fprintln(os.Stderr, "usage: tcpproxy [-listen ADDR] [-to ADDR]")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "tcpproxy: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("Proxying %s to %s...\n", ln.Addr(), *to)
	if err := serve(ln, *to, nil); err != nil {
		fmt.Fprintf(os.Stderr, "tcpproxy: %v\n", err)
		os.Exit(1)
	}
}

// serve accepts connections on ln and proxies each to upstream in its own
// goroutine, with engine e, or with the package's default engine
// (kpipe.Proxy) when e is nil. It returns nil once ln is closed and every
// connection it accepted has ended, or the error that made Accept fail for
// good. Transient Accept failures (out of descriptors, aborted handshakes)
// are retried after a pause.
func serve(ln net.Listener, upstream string, e *kpipe.Engine) error {
	return accept.Serve(ln, logger, func(conn net.Conn) error { return handle(conn, upstream, e) })
}

// handle dials upstream for the client conn, proxies both directions with
// e (the default engine when e is nil) until both are done or one fails,
// and closes both connections. A peer going away (reset, broken pipe) is
// not reported: that is how TCP connections often end.
func handle(conn net.Conn, upstream string, e *kpipe.Engine) error {
	defer conn.Close()
	dest, err := net.DialTimeout("tcp", upstream, dialTimeout)
	if err != nil {
		return fmt.Errorf("dial upstream: %w", err)
	}
	defer dest.Close()
	proxy := kpipe.Proxy
	if e != nil {
		proxy = e.Proxy
	}
	_, _, err = proxy(context.Background(), conn, dest)
	if err != nil && !accept.PeerGone(err) {
		return fmt.Errorf("proxy to %s: %w", upstream, err)
	}
	return nil
}
