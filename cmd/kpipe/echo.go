//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/kpipe/kpipe"
	"github.com/kpipe/kpipe/internal/accept"
)

// runEcho is `kpipe echo -listen ADDR`.
func runEcho(args []string) error {
	fs := newFlags("echo", "[-listen ADDR] [-max-conns N] [-grace DURATION]", `
Run a TCP echo server: every connection gets back what it sends, moved by
kpipe.DoubleSplice through a private kernel pipe, with both splices in
flight at once; the bytes never enter the program. When the client shuts
its sending side down, the server ends the echo with its own.

The first line on standard output is "Echoing on ADDR...", with the address
bound (useful with port 0). SIGINT or SIGTERM stops accepting and lets live
connections finish for up to -grace before cancelling them.

Try it with: echo foobar | nc -N HOST PORT`)
	addr := fs.String("listen", "127.0.0.1:1234", "TCP address to listen on")
	srv := new(connServer)
	srv.flags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("unexpected arguments: %q", fs.Args())
	}
	srv.handle = func(ctx context.Context, conn *net.TCPConn) {
		if err := echoConn(ctx, conn); err != nil {
			srv.log.Printf("%s: %v", conn.RemoteAddr(), err)
		}
	}
	return srv.serve("echo", *addr, func(a net.Addr) string { return fmt.Sprintf("Echoing on %s...", a) })
}

// echoConn echoes conn with kpipe.DoubleSplice until the client shuts its
// sending side down, then shuts down the server's, and closes conn. A client
// going away is not an error, nor is a cancellation by ctx.
func echoConn(ctx context.Context, conn *net.TCPConn) error {
	defer conn.Close()
	_, err := kpipe.DoubleSplice(ctx, conn, conn)
	if err == nil {
		err = conn.CloseWrite()
	}
	if err == nil || accept.PeerGone(err) || errors.Is(err, context.Canceled) {
		return nil
	}
	return fmt.Errorf("echo: %w", err)
}
