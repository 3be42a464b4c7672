//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/kpipe/kpipe"
)

// dialTimeout bounds how long a connection waits for the upstream server.
const dialTimeout = 10 * time.Second

// runProxy is `kpipe proxy -listen ADDR -to ADDR`.
func runProxy(args []string) error {
	fs := newFlags("proxy", "[-listen ADDR] -to ADDR [-max-conns N] [-grace DURATION]", `
Run a TCP proxy: every connection accepted on -listen is joined to a new
connection to -to with kpipe.Proxy, both directions spliced through private
kernel pipes, each half-closed at its end of input; the bytes never enter
the program.

The first line on standard output is "Proxying ADDR to UPSTREAM...", with the
address bound (useful with port 0). Each connection, once ended, is logged
on standard error: the client's address, the bytes each way, the duration
and the error, if any.

At most -max-conns connections are served at once; once that many are live
the proxy stops accepting until one ends, so further clients wait in the
kernel's listen queue instead of being turned away.

SIGINT or SIGTERM stops accepting and lets live connections finish for up to
-grace; the rest are then cancelled (a second signal cancels them at once),
and the proxy exits with status 0.`)
	addr := fs.String("listen", "127.0.0.1:4321", "TCP address to listen on")
	upstream := fs.String("to", "", "TCP address of the upstream server (required)")
	srv := new(connServer)
	srv.flags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() != 0:
		return usagef("unexpected arguments: %q", fs.Args())
	case *upstream == "":
		return usagef("-to ADDR is required")
	}
	srv.handle = func(ctx context.Context, conn *net.TCPConn) {
		start := time.Now()
		up, down, err := proxyConn(ctx, conn, *upstream)
		srv.log.Print(connLogLine(conn.RemoteAddr(), *upstream, up, down, time.Since(start), err))
	}
	return srv.serve("proxy", *addr, func(a net.Addr) string { return fmt.Sprintf("Proxying %s to %s...", a, *upstream) })
}

// proxyConn dials upstream for the client conn and proxies both directions
// until both are done, one fails or ctx is cancelled, then closes both
// connections. It returns the bytes sent upstream and back to the client.
func proxyConn(ctx context.Context, conn *net.TCPConn, upstream string) (up, down int64, err error) {
	defer conn.Close()
	dialCtx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	var d net.Dialer
	dest, err := d.DialContext(dialCtx, "tcp", upstream)
	if err != nil {
		return 0, 0, fmt.Errorf("dial upstream: %w", err)
	}
	defer dest.Close()
	return kpipe.Proxy(ctx, conn, dest)
}

// connLogLine is the log line of one proxied connection.
func connLogLine(client net.Addr, upstream string, up, down int64, d time.Duration, err error) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s -> %s: %d bytes up, %d bytes down, %v", client, upstream, up, down, d.Round(time.Microsecond))
	switch {
	case err == nil:
	case errors.Is(err, context.Canceled):
		b.WriteString("; cancelled at shutdown")
	default:
		fmt.Fprintf(&b, "; error: %v", err)
	}
	return b.String()
}
