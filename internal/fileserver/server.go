// Package fileserver is kpipe's zero-copy HTTP/1.1 file server: it serves a
// directory with keep-alive, and the bytes of a file never enter the
// program's memory.
//
// When the client accepts gzip, a file goes out with Content-Encoding: gzip
// and Transfer-Encoding: chunked: kpipe.Gzip compresses it from the file
// into a kernel pipe while kpipe.ChunkedTransfer splices the pipe into the
// socket in chunks, each framed by its size,
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
// Both examples/fileserver and `kpipe serve` run this server.
package fileserver

import (
	"context"
	"errors"
	"log"
	"net"
	"os"
	"sync"
	"time"

	"github.com/kpipe/kpipe/internal/accept"
)

// Server serves the files of one directory over HTTP/1.1. Open makes one;
// Serve runs it on a listener; Shutdown stops it gracefully; Close releases
// the directory.
type Server struct {
	// ErrorLog receives the failures that are the server's, not the
	// client's (a client going away is not logged). nil: standard error,
	// prefixed "fileserver: ".
	ErrorLog *log.Logger

	root *root

	mu        sync.Mutex
	shutdown  bool
	listeners map[net.Listener]struct{}
	conns     map[*net.TCPConn]bool // value: idle, waiting for a request
	wg        sync.WaitGroup        // connections being served
}

// Open opens dir, held open for the server's lifetime: every file served is
// opened relative to it, so renaming or replacing the path dir later does not
// change what is served.
func Open(dir string) (*Server, error) {
	r, err := openRoot(dir)
	if err != nil {
		return nil, err
	}
	return &Server{
		root:      r,
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[*net.TCPConn]bool),
	}, nil
}

// Close closes the served directory. Call it once Serve has returned.
func (s *Server) Close() error { return s.root.Close() }

// Serve accepts TCP connections on ln and serves each in its own goroutine.
// It returns nil once ln is closed (by the caller or by Shutdown) and every
// connection it accepted has ended, or the error that made Accept fail for
// good; transient failures (out of descriptors, aborted handshakes) are
// retried after a pause. Serve closes ln when it returns.
func (s *Server) Serve(ln net.Listener) error {
	defer s.wg.Wait()
	defer ln.Close()
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		return nil
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()
	var backoff accept.Backoff
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			if !accept.Transient(err) {
				return err
			}
			pause := backoff.Next()
			s.logf("accept: %v; retrying in %v", err, pause)
			time.Sleep(pause)
			continue
		}
		backoff.Reset()
		conn, ok := c.(*net.TCPConn)
		if !ok {
			c.Close()
			s.logf("accept: %T is not a TCP connection", c)
			continue
		}
		if !s.track(conn) {
			conn.Close()
			return nil
		}
		go func() {
			defer s.wg.Done()
			defer s.untrack(conn)
			defer conn.Close()
			s.serveConn(conn)
		}()
	}
}

// Shutdown stops the server gracefully: it closes the listeners Serve runs
// on, closes the connections waiting for a request, and lets every response
// under way finish, after which its connection closes. It returns nil once
// every connection has ended, or, if ctx ends first, closes the connections
// left (cutting their responses short) and returns ctx.Err().
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shutdown = true
	for ln := range s.listeners {
		ln.Close()
	}
	for conn, idle := range s.conns {
		if idle {
			// Wakes a ReadRequest with a timeout: the connection ends.
			conn.SetReadDeadline(time.Now())
		}
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	for conn := range s.conns {
		conn.Close()
	}
	s.mu.Unlock()
	<-done
	return ctx.Err()
}

// track registers a new connection, busy until it waits for a request. It
// reports false when the server is shutting down.
func (s *Server) track(conn *net.TCPConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown {
		return false
	}
	s.conns[conn] = false
	s.wg.Add(1)
	return true
}

// untrack forgets an ended connection.
func (s *Server) untrack(conn *net.TCPConn) {
	s.mu.Lock()
	delete(s.conns, conn)
	s.mu.Unlock()
}

// waitForRequest marks conn idle, waiting at most idleTimeout for its next
// request. It reports false when the server is shutting down and conn
// should close instead.
func (s *Server) waitForRequest(conn *net.TCPConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown {
		return false
	}
	s.conns[conn] = true
	conn.SetReadDeadline(time.Now().Add(idleTimeout))
	return true
}

// busy marks conn as answering a request. It reports whether the server
// is shutting down, so that the response is the connection's last.
func (s *Server) busy(conn *net.TCPConn) (closing bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conns[conn] = false
	if !s.shutdown {
		conn.SetReadDeadline(time.Time{})
	}
	return s.shutdown
}

// logf reports a server failure on s.ErrorLog.
func (s *Server) logf(format string, args ...any) {
	l := s.ErrorLog
	if l == nil {
		l = defaultLog
	}
	l.Printf(format, args...)
}

// defaultLog is the log of a Server without an ErrorLog.
var defaultLog = log.New(os.Stderr, "fileserver: ", log.LstdFlags)
