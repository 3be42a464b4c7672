package accept

import (
	"errors"
	"log"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Loop is the accept loop of kpipe's servers: Run calls Accept until the
// listener is closed or fails for good, and serves every connection in its
// own goroutine. Transient Accept failures (see Transient) are logged and
// retried after a Backoff pause. A Loop is used once.
type Loop struct {
	// Log reports the transient Accept failures and the pause before each
	// retry; nil means log.Default().
	Log *log.Logger
	// MaxConns, when > 0, limits the connections served at once by
	// back-pressure: Run takes a slot before each Accept and a connection
	// gives it back when its handler returns, so that once the limit is
	// reached further clients wait in the kernel's listen queue.
	MaxConns int
	// Stopping, once closed, ends Run while it waits for a slot.
	Stopping <-chan struct{}

	live  sync.WaitGroup
	count atomic.Int64
}

// Run accepts connections on ln and calls handle for each in its own
// goroutine; handle must close the connection. Run returns nil once ln is
// closed (or Stopping is, while it waits for a slot), or the error that
// made Accept fail for good. It does not wait for the handlers: see Wait.
func (l *Loop) Run(ln net.Listener, handle func(net.Conn)) error {
	var backoff Backoff
	var slots chan struct{}
	if l.MaxConns > 0 {
		slots = make(chan struct{}, l.MaxConns)
	}
	logger := l.logger()
	for {
		if slots != nil {
			select {
			case slots <- struct{}{}:
			case <-l.Stopping:
				return nil
			}
		}
		c, err := ln.Accept()
		if err != nil {
			if slots != nil {
				<-slots
			}
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			if !Transient(err) {
				return err
			}
			pause := backoff.Next()
			logger.Printf("accept: %v; retrying in %v", err, pause)
			time.Sleep(pause)
			continue
		}
		backoff.Reset()
		l.live.Add(1)
		l.count.Add(1)
		go func() {
			defer l.live.Done()
			defer l.count.Add(-1)
			if slots != nil {
				defer func() { <-slots }()
			}
			handle(c)
		}()
	}
}

// logger returns Log, or log.Default() when it is nil.
func (l *Loop) logger() *log.Logger {
	if l.Log == nil {
		return log.Default()
	}
	return l.Log
}

// Live returns how many of the connections Run accepted are still being
// served.
func (l *Loop) Live() int64 { return l.count.Load() }

// Wait waits until every connection Run accepted has been served.
func (l *Loop) Wait() { l.live.Wait() }

// Serve accepts connections on ln and serves each with handle in its own
// goroutine, without a limit, logging on logger (nil: log.Default()) every
// error handle returns after the client's address. It returns nil once ln is closed and every
// connection it accepted has ended, or the error that made Accept fail for
// good; transient Accept failures are retried after a pause, as in Loop.
func Serve(ln net.Listener, logger *log.Logger, handle func(net.Conn) error) error {
	l := Loop{Log: logger}
	defer l.Wait()
	return l.Run(ln, func(c net.Conn) {
		if err := handle(c); err != nil {
			l.logger().Printf("%s: %v", c.RemoteAddr(), err)
		}
	})
}
