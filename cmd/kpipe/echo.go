//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"os"

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
	maxConns := fs.Int("max-conns", 1024, "most connections served at once (0: no limit); more wait to be accepted")
	grace := fs.Duration("grace", defaultGrace, "how long live connections may finish after SIGINT or SIGTERM")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("unexpected arguments: %q", fs.Args())
	}
	if *maxConns < 0 || *grace < 0 {
		return usagef("-max-conns and -grace must not be negative")
	}
	sigs, stop := notifyShutdown()
	defer stop()
	ln, err := listenTCP(*addr)
	if err != nil {
		return err
	}
	fmt.Printf("Echoing on %s...\n", ln.Addr())
	logger := log.New(os.Stderr, "kpipe echo: ", log.LstdFlags)
	srv := &connServer{
		log:      logger,
		maxConns: *maxConns,
		grace:    *grace,
		handle: func(ctx context.Context, conn *net.TCPConn) {
			if err := echoConn(ctx, conn); err != nil {
				logger.Printf("%s: %v", conn.RemoteAddr(), err)
			}
		},
	}
	return srv.run(ln, sigs)
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
