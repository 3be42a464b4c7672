package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The load of the proxy and echo sections runs in the harness process: a
// sink that plays the proxies' upstream, and the clients.

// loadBuf is what the clients write, over and over: read-only, shared.
var loadBuf = func() []byte {
	b := make([]byte, 256<<10)
	for i := range b {
		b[i] = byte(i*7 + i>>9)
	}
	return b
}()

// A tcpSink is a TCP server that reads every connection to its end,
// discards and counts the bytes, and then closes the connection. The zero
// value is a sink to start.
type tcpSink struct {
	ln    net.Listener
	bytes atomic.Int64
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	errs  []error
}

// start starts the sink on a loopback port; a sink runs once at a time
// (start, then close, then start again).
func (s *tcpSink) start() error {
	if s.ln != nil {
		return errors.New("sink: already started")
	}
	s.errs = nil
	s.bytes.Store(0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("sink: listen: %w", err)
	}
	s.ln, s.conns = ln, map[net.Conn]struct{}{}
	s.wg.Add(1)
	go s.accept()
	return nil
}

func (s *tcpSink) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			err := s.drain(c)
			s.mu.Lock()
			delete(s.conns, c)
			if err != nil {
				s.errs = append(s.errs, err)
			}
			s.mu.Unlock()
		}()
	}
}

// drain reads c to its end, counts the bytes and closes c. The count is
// added before the close, so a client that saw the proxy close its side
// finds its bytes counted. A connection reset before any byte is not an
// error: a proxy may abort the upstream connection of a client that went
// away at once (the probe that waits for a proxy to listen, for one).
func (s *tcpSink) drain(c net.Conn) error {
	defer c.Close()
	buf := make([]byte, 64<<10)
	var total int64
	for {
		n, err := c.Read(buf)
		s.bytes.Add(int64(n))
		total += int64(n)
		if err == io.EOF || (total == 0 && errors.Is(err, syscall.ECONNRESET)) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("sink: read after %d bytes: %w", total, err)
		}
	}
}

// addr returns the sink's address.
func (s *tcpSink) addr() string { return s.ln.Addr().String() }

// received returns the bytes the sink has read so far, over every
// connection.
func (s *tcpSink) received() int64 { return s.bytes.Load() }

// takeErr returns the first read error since the last call (with the
// number of the others), and forgets them.
func (s *tcpSink) takeErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := firstOfErrors(s.errs)
	s.errs = nil
	return err
}

// close stops the sink: it closes the listener and every open connection
// and waits for its goroutines. It does nothing to a sink not started.
func (s *tcpSink) close() {
	if s.ln == nil {
		return
	}
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	s.ln = nil
}

// closeOnDone makes every blocked call on c return once ctx is done; the
// returned function ends the watch.
func closeOnDone(ctx context.Context, c net.Conn) (stop func() bool) {
	return context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
}

// loadCtxErr returns ctx's error, wrapped in the error err of an operation it
// interrupted, or err.
func loadCtxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && err != nil {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}

// splitTotal returns connection i's share of total bytes over conns
// connections: equal shares, the rest on the first.
func splitTotal(total int64, conns, i int) int64 {
	share := total / int64(conns)
	if i == 0 {
		share += total % int64(conns)
	}
	return share
}

// runConns runs one(ctx, i) for i in [0, conns) at once and returns their
// errors, each prefixed with its connection number.
func runConns(ctx context.Context, conns int, one func(ctx context.Context, i int) error) error {
	var wg sync.WaitGroup
	errs := make([]error, conns)
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := one(ctx, i); err != nil {
				errs[i] = fmt.Errorf("connection %d: %w", i, loadCtxErr(ctx, err))
			}
		}()
	}
	wg.Wait()
	return firstOfErrors(errs)
}

// dialConns runs one(ctx, i, conn) on conns connections to addr at once,
// as runConns does; conn is closed when one returns or ctx is done.
func dialConns(ctx context.Context, addr string, conns int, one func(ctx context.Context, i int, conn *net.TCPConn) error) error {
	return runConns(ctx, conns, func(ctx context.Context, i int) error {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return fmt.Errorf("dial: %w", err)
		}
		defer c.Close()
		defer closeOnDone(ctx, c)()
		return one(ctx, i, c.(*net.TCPConn))
	})
}

// firstOfErrors returns the first non-nil error of errs, with the number
// of the others when there are more, or nil.
func firstOfErrors(errs []error) error {
	var first error
	failed := 0
	for _, err := range errs {
		if err != nil {
			if first == nil {
				first = err
			}
			failed++
		}
	}
	if failed > 1 {
		return fmt.Errorf("%w (and %d more of %d failed)", first, failed-1, len(errs))
	}
	return first
}

// pushThrough opens conns connections to the proxy at addr at once, writes
// an equal share of total bytes on each, half-closes each, and waits until
// the proxy has closed every one of them, checking that nothing came back.
func pushThrough(ctx context.Context, addr string, conns int, total int64) error {
	return dialConns(ctx, addr, conns, func(ctx context.Context, i int, conn *net.TCPConn) error {
		if err := writeLoad(conn, splitTotal(total, conns, i)); err != nil {
			return err
		}
		if err := conn.CloseWrite(); err != nil {
			return fmt.Errorf("close write: %w", err)
		}
		back, err := io.Copy(io.Discard, conn)
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		if back != 0 {
			return fmt.Errorf("read: %d bytes came back through the proxy, want none", back)
		}
		return nil
	})
}

// writeLoad writes n bytes of loadBuf, over and over, on w.
func writeLoad(w io.Writer, n int64) error {
	for n > 0 {
		k := min(n, int64(len(loadBuf)))
		if _, err := w.Write(loadBuf[:k]); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		n -= k
	}
	return nil
}

// echoRoundTrips runs n round trips of size-byte messages on c: write one,
// read it back whole, and check it.
func echoRoundTrips(ctx context.Context, c net.Conn, n, size int) error {
	defer closeOnDone(ctx, c)()
	out, in := loadBuf[:size], make([]byte, size)
	for i := 0; i < n; i++ {
		if _, err := c.Write(out); err != nil {
			return loadCtxErr(ctx, fmt.Errorf("round trip %d: write: %w", i, err))
		}
		if _, err := io.ReadFull(c, in); err != nil {
			return loadCtxErr(ctx, fmt.Errorf("round trip %d: read: %w", i, err))
		}
		if string(in) != string(out) {
			return fmt.Errorf("round trip %d: the echo differs from the message", i)
		}
	}
	return nil
}

// echoStreams opens conns connections to the echo server at addr at once;
// on each it writes an equal share of total bytes, half-closes, and at the
// same time reads the echo to its end, checking that every byte came back.
func echoStreams(ctx context.Context, addr string, conns int, total int64) error {
	return dialConns(ctx, addr, conns, func(ctx context.Context, i int, conn *net.TCPConn) error {
		share := splitTotal(total, conns, i)
		werr := make(chan error, 1)
		go func() {
			err := writeLoad(conn, share)
			if err == nil {
				if err = conn.CloseWrite(); err != nil {
					err = fmt.Errorf("close write: %w", err)
				}
			}
			werr <- err
		}()
		back, rerr := io.CopyBuffer(io.Discard, struct{ io.Reader }{conn}, make([]byte, 64<<10))
		if rerr != nil {
			rerr = fmt.Errorf("read: %w", rerr)
			conn.Close() // unblocks the writer
		} else if back != share {
			rerr = fmt.Errorf("read: %d bytes came back, want %d", back, share)
		}
		if err := <-werr; err != nil && rerr == nil {
			return err
		}
		return rerr
	})
}
