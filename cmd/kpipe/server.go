//go:build linux

package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/kpipe/kpipe/internal/accept"
)

// defaultGrace is how long the servers let live connections run after
// SIGINT or SIGTERM before cancelling them.
const defaultGrace = 10 * time.Second

// notifyShutdown returns a channel that receives SIGINT and SIGTERM, and a
// function that stops the notifications.
func notifyShutdown() (<-chan os.Signal, func()) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	return sigs, func() { signal.Stop(sigs) }
}

// connServer serves TCP connections, each with handle in its own goroutine,
// at most maxConns at once, until a signal asks it to stop. It is the
// skeleton of echo and proxy.
//
// The connection limit works by back-pressure: once maxConns connections
// are live, the server stops calling Accept until one ends, so further
// clients wait in the kernel's listen queue (their connection is
// established, but nothing is read from it) rather than being accepted
// and closed at once. Clients beyond the queue's length see their
// connection attempts retried, then time out, as with any busy server.
type connServer struct {
	log      *log.Logger
	maxConns int           // 0: no limit
	grace    time.Duration // how long live connections may finish at shutdown
	// handle serves one connection and closes it. ctx is cancelled when
	// the grace period ends.
	handle func(ctx context.Context, conn *net.TCPConn)
}

// run serves the connections of ln until the first signal on sigs, then
// stops accepting, closes ln and lets live connections finish for up to
// s.grace (or until a second signal), after which it cancels them. It
// returns nil after a signal once every connection has ended, or the error
// that made Accept fail for good.
func (s *connServer) run(ln net.Listener, sigs <-chan os.Signal) error {
	connCtx, cancelConns := context.WithCancel(context.Background())
	defer cancelConns()
	stopping := make(chan struct{})
	loop := &accept.Loop{Log: s.log, MaxConns: s.maxConns, Stopping: stopping}
	acceptDone := make(chan error, 1)
	go func() {
		acceptDone <- loop.Run(ln, func(c net.Conn) { s.handle(connCtx, c.(*net.TCPConn)) })
	}()

	var sig os.Signal
	select {
	case err := <-acceptDone:
		return err // Accept failed for good
	case sig = <-sigs:
	}
	close(stopping)
	ln.Close()
	if err := <-acceptDone; err != nil {
		s.log.Printf("accept: %v", err)
	}
	done := make(chan struct{})
	go func() {
		loop.Wait()
		close(done)
	}()
	if n := loop.Live(); n > 0 {
		s.log.Printf("%v: no longer accepting; waiting up to %v for %d connections", sig, s.grace, n)
	}
	timer := time.NewTimer(s.grace)
	defer timer.Stop()
	select {
	case <-done:
		return nil
	case <-timer.C:
		s.log.Printf("grace period over: cancelling %d connections", loop.Live())
	case sig = <-sigs:
		s.log.Printf("%v: cancelling %d connections", sig, loop.Live())
	}
	cancelConns()
	<-done
	return nil
}

// flags adds to fs the flags every connection server has, -max-conns and
// -grace, which set s's fields.
func (s *connServer) flags(fs *flag.FlagSet) {
	fs.IntVar(&s.maxConns, "max-conns", 1024, "most connections served at once (0: no limit); more wait to be accepted")
	fs.DurationVar(&s.grace, "grace", defaultGrace, "how long live connections may finish after SIGINT or SIGTERM")
}

// serve checks the flags, listens on addr, prints banner(the address bound)
// on standard output, and runs s, logging as "kpipe NAME: ", until a
// signal.
func (s *connServer) serve(name, addr string, banner func(net.Addr) string) error {
	if s.maxConns < 0 || s.grace < 0 {
		return usagef("-max-conns and -grace must not be negative")
	}
	sigs, stop := notifyShutdown()
	defer stop()
	ln, err := listenTCP(addr)
	if err != nil {
		return err
	}
	fmt.Println(banner(ln.Addr()))
	s.log = log.New(os.Stderr, "kpipe "+name+": ", log.LstdFlags)
	return s.run(ln, sigs)
}

// listenTCP listens on the TCP address addr.
func listenTCP(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	return ln, nil
}
