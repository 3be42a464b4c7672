//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/kpipe/kpipe/kphttp"
)

// runServe is `kpipe serve -listen ADDR -dir DIR`.
func runServe(args []string) error {
	fs := newFlags("serve", "[-listen ADDR] [-dir DIR] [-grace DURATION]", `
Serve the files of DIR over HTTP/1.1 with keep-alive: net/http's server
running kphttp.FileServer, which answers as http.FileServer does (ranges,
conditional requests with ETags, HEAD, index.html, the redirects of
directories) but lists no directory. A client that accepts gzip gets a
whole text file gzipped by kpipe's engine as it is sent (or NAME.gz from
beside it, if not older), framed in chunks by net/http; other files, other
clients and ranges get the file as it is, by sendfile(2). Only GET and HEAD
are served, and never anything outside DIR (".." and symbolic links out of
it are refused by the kernel's RESOLVE_BENEATH).

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
	files, err := kphttp.NewFileServer(*dir, kphttp.FileServerOptions{})
	if err != nil {
		return err
	}
	defer files.Close()
	logger := log.New(os.Stderr, "kpipe serve: ", log.LstdFlags)
	srv := &http.Server{
		Handler:           files,
		ErrorLog:          logger,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       time.Minute,
	}
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
		return err // Serve failed for good
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
		// Shutdown leaves the connections still busy open: cut them.
		logger.Printf("responses cut short: %v", err)
		srv.Close()
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
