package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"sync"

	"github.com/kpipe/kpipe"
	"github.com/kpipe/kpipe/internal/accept"
)

// The child servers the proxy and echo sections start (Self -child NAME
// KIND ...; the HTTP handlers sections' is in httpserver.go). Each listens
// on a loopback port, prints "listen ADDR" on its standard output, serves
// until its standard input ends, and reports the error of any connection on
// its standard error.
const (
	proxyChildName = "tcp-proxy"   // args: KIND UPSTREAM, KIND one of proxyKinds
	echoChildName  = "echo-server" // args: KIND, KIND one of echoKinds
)

// The kinds of TCP proxy the tcp-proxy child runs.
const (
	proxyKpipeUring = "kpipe-io_uring" // Engine.Proxy on an io_uring engine
	proxyKpipePoll  = "kpipe-poll"     // Engine.Proxy on a poll engine
	proxyIOCopy     = "io.Copy"        // io.Copy both ways, CloseWrite at each end
	proxyUser64K    = "user-64k"       // read/write loop with a 64 KiB buffer
)

// The kinds of echo server the echo-server child runs.
const (
	echoKpipeDefault = "kpipe-default"  // kpipe.DoubleSplice(ctx, conn, conn)
	echoKpipeUring   = "kpipe-io_uring" // the same on an io_uring engine
	echoIOCopy       = "io.Copy"        // io.Copy(conn, conn)
)

func init() {
	RegisterChild(proxyChildName, proxyChildMain)
	RegisterChild(echoChildName, echoChildMain)
}

// relayFunc moves one client connection's bytes to and from its upstream
// connection, both ways, until both directions have ended.
type relayFunc func(client, upstream *net.TCPConn) error

// proxyChildMain is the body of the tcp-proxy child: a TCP proxy of the
// given kind to the upstream address.
func proxyChildMain(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: %s KIND UPSTREAM", proxyChildName)
	}
	kind, upstream := args[0], args[1]
	relay, closeRelay, err := newRelay(kind)
	if err != nil {
		return err
	}
	defer closeRelay()
	return serveUntilStdinEnds(func(c *net.TCPConn) error {
		u, err := net.Dial("tcp", upstream)
		if err != nil {
			return fmt.Errorf("dial upstream: %w", err)
		}
		defer u.Close()
		return relay(c, u.(*net.TCPConn))
	})
}

// newRelay returns the relay of a kind of proxy and what releases it.
func newRelay(kind string) (relayFunc, func(), error) {
	switch kind {
	case proxyKpipeUring, proxyKpipePoll:
		backend := kpipe.BackendPoll
		if kind == proxyKpipeUring {
			backend = kpipe.BackendIOUring
		}
		e, err := newEngineOn(backend)
		if err != nil {
			return nil, nil, err
		}
		return func(c, u *net.TCPConn) error {
			_, _, err := e.Proxy(context.Background(), c, u)
			return err
		}, func() { e.Close() }, nil
	case proxyIOCopy:
		return func(c, u *net.TCPConn) error {
			return copyBothWays(c, u, func(dst, src *net.TCPConn) error {
				_, err := io.Copy(dst, src)
				return err
			})
		}, func() {}, nil
	case proxyUser64K:
		pool := sync.Pool{New: func() any { return new([64 << 10]byte) }}
		return func(c, u *net.TCPConn) error {
			return copyBothWays(c, u, func(dst, src *net.TCPConn) error {
				buf := pool.Get().(*[64 << 10]byte)
				defer pool.Put(buf)
				return readWriteLoop(dst, src, buf[:])
			})
		}, func() {}, nil
	}
	return nil, nil, fmt.Errorf("no proxy kind %q", kind)
}

// newEngineOn starts a kpipe engine on backend, and fails if the engine
// fell back to another backend.
func newEngineOn(backend string) (*kpipe.Engine, error) {
	e, err := kpipe.NewEngine(kpipe.Config{Backend: backend})
	if err != nil {
		return nil, fmt.Errorf("kpipe.NewEngine(%s): %w", backend, err)
	}
	if got := e.Backend(); got != backend {
		e.Close()
		return nil, fmt.Errorf("kpipe.NewEngine(%s): got the %s backend: %s is not available here", backend, got, backend)
	}
	return e, nil
}

// copyBothWays runs copy in both directions at once, half-closing each
// direction's destination at its end, and returns the errors.
func copyBothWays(c, u *net.TCPConn, copy func(dst, src *net.TCPConn) error) error {
	errc := make(chan error, 1)
	go func() {
		err := copy(c, u)
		if err == nil {
			err = c.CloseWrite()
		}
		errc <- err
	}()
	err := copy(u, c)
	if err == nil {
		err = u.CloseWrite()
	}
	return errors.Join(err, <-errc)
}

// readWriteLoop copies src to dst through buf with plain Read and Write
// calls, until src's end.
func readWriteLoop(dst, src *net.TCPConn, buf []byte) error {
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// echoChildMain is the body of the echo-server child: an echo server of
// the given kind.
func echoChildMain(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: %s KIND", echoChildName)
	}
	var echo func(c *net.TCPConn) error
	switch args[0] {
	case echoKpipeDefault:
		echo = func(c *net.TCPConn) error {
			_, err := kpipe.DoubleSplice(context.Background(), c, c)
			return err
		}
	case echoKpipeUring:
		e, err := newEngineOn(kpipe.BackendIOUring)
		if err != nil {
			return err
		}
		defer e.Close()
		echo = func(c *net.TCPConn) error {
			_, err := e.DoubleSplice(context.Background(), c, c)
			return err
		}
	case echoIOCopy:
		echo = func(c *net.TCPConn) error {
			_, err := io.Copy(c, c)
			return err
		}
	default:
		return fmt.Errorf("no echo kind %q", args[0])
	}
	return serveUntilStdinEnds(echo)
}

// serveUntilStdinEnds listens on a loopback port, prints "listen ADDR",
// and runs handle for every connection (which it then closes) until the
// standard input ends. Connection errors go to the standard error.
func serveUntilStdinEnds(handle func(c *net.TCPConn) error) error {
	logger := log.New(os.Stderr, "connection from ", 0)
	return listenUntilStdinEnds(func(ln net.Listener) {
		accept.Serve(ln, logger, func(c net.Conn) error {
			defer c.Close()
			return handle(c.(*net.TCPConn))
		})
	})
}

// listenUntilStdinEnds listens on a loopback port, starts serve on the
// listener in a goroutine of its own, prints "listen ADDR", and returns
// once the standard input ends, closing the listener (serve must return
// when its Accept fails).
func listenUntilStdinEnds(serve func(ln net.Listener)) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	go serve(ln)
	if _, err := fmt.Printf("listen %s\n", ln.Addr()); err != nil {
		return fmt.Errorf("print the address: %w", err)
	}
	if _, err := io.Copy(io.Discard, os.Stdin); err != nil {
		return fmt.Errorf("stdin: %w", err)
	}
	return nil
}

// uringSkip returns why the kpipe io_uring peers cannot run here (the
// kernel refuses io_uring, or the engine falls back to poll), or "". It
// probes once, in the harness process, by starting and closing an engine.
var uringSkip = sync.OnceValue(func() string {
	e, err := newEngineOn(kpipe.BackendIOUring)
	if err != nil {
		return err.Error()
	}
	if err := e.Close(); err != nil {
		return fmt.Sprintf("kpipe io_uring engine: close: %v", err)
	}
	return ""
})
