//go:build linux

package main

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/kpipe/kpipe/internal/fileserver"
)

// runServe is `kpipe serve -listen ADDR -dir DIR`.
func runServe(args []string) error {
	fs := newFlags("serve", "[-listen ADDR] [-dir DIR] [-grace DURATION]", `
Serve the files of DIR over HTTP/1.1 with keep-alive; the bytes of a file
never enter the program. A client that accepts gzip gets the file
compressed by zlib into a kernel pipe and spliced to the socket as a
chunked body; others get it by sendfile(2) with a Content-Length. Only GET
and HEAD are served, and never anything outside DIR (".." and symbolic
links out of it are refused by the kernel's RESOLVE_BENEATH).

The first line on standard output is "Serving DIR on http://ADDR/", with the
address bound (useful with port 0). SIGINT or SIGTERM stops accepting,
closes idle connections and lets responses under way finish for up to
-grace; the rest are then cut (a second signal cuts them at once), and the
server exits with status 0.`)
	addr := fs.String("listen", "127.0.0.1:8080", "TCP address to listen on")
	dir := fs.String("dir", ".", "directory to serve")
	grace := fs.Duration("grace", defaultGrace, "how long responses under way may finish after SIGINT or SIGTERM")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("unexpected arguments: %q", fs.Args())
	}
	if *grace < 0 {
		return usagef("-grace must not be negative")
	}
	sigs, stop := notifyShutdown()
	defer stop()
	srv, err := fileserver.Open(*dir)
	if err != nil {
		return err
	}
	defer srv.Close()
	logger := log.New(os.Stderr, "kpipe serve: ", log.LstdFlags)
	srv.ErrorLog = logger
	ln, err := listenTCP(*addr)
	if err != nil {
		return err
	}
	fmt.Printf("Serving %s on http://%s/\n", *dir, ln.Addr())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	var sig os.Signal
	select {
	case err := <-served:
		return err
	case sig = <-sigs:
	}
	logger.Printf("%v: shutting down; responses under way have %v to finish", sig, *grace)
	ctx, cancel := context.WithTimeout(context.Background(), *grace)
	defer cancel()
	go func() {
		select {
		case sig := <-sigs:
			logger.Printf("%v: cutting the responses under way", sig)
			cancel()
		case <-ctx.Done():
		}
	}()
	if err := srv.Shutdown(ctx); err != nil {
		logger.Printf("responses cut short: %v", err)
	}
	return <-served
}
