//go:build linux

package core

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kpipe/kpipe/internal/testprog"
	"golang.org/x/sys/unix"
)

// Tests of Engine.Proxy: integrity through a proxy in front of an echo
// server, half-close, faults and scale, each on both backends.

// echoServer answers every connection with what it reads, then half-closes.
// It copies through a small buffer (no pipes, no splice).
func echoServer(t *testing.T) *net.TCPAddr {
	t.Helper()
	ln := tcpListener(t)
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(testprog.AcceptAll(ln, func(c net.Conn) {
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
		echoBuffered(c.(*net.TCPConn))
	}))
	t.Cleanup(func() {
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return ln.Addr().(*net.TCPAddr)
}

// echoBuffered sends c back what it reads, through a small buffer (no
// pipes, no splice), then half-closes it.
func echoBuffered(c *net.TCPConn) {
	buf := make([]byte, 32<<10)
	io.CopyBuffer(struct{ io.Writer }{c}, struct{ io.Reader }{c}, buf)
	c.CloseWrite()
}

// proxyResult is what one Proxy call in the proxy server returned.
type proxyResult struct {
	aToB, bToA int64
	err        error
}

// proxyServer accepts connections and proxies each to upstream with e. The
// Proxy results arrive on the returned channel (buffered for max).
func proxyServer(t *testing.T, e *Engine, upstream *net.TCPAddr, max int) (*net.TCPAddr, <-chan proxyResult) {
	t.Helper()
	ln := tcpListener(t)
	ctx, cancel := context.WithCancel(context.Background())
	results := make(chan proxyResult, max)
	stop := testprog.AcceptAll(ln, func(c net.Conn) {
		a := c.(*net.TCPConn)
		b, err := net.DialTCP("tcp", nil, upstream)
		if err != nil {
			a.Close()
			results <- proxyResult{err: err}
			return
		}
		x, y, err := e.Proxy(ctx, a, b)
		a.Close()
		b.Close()
		results <- proxyResult{x, y, err}
	})
	t.Cleanup(func() { cancel(); stop() })
	return ln.Addr().(*net.TCPAddr), results
}

// echoThrough sends data through conn and hashes what comes back.
func echoThrough(c *net.TCPConn, data []byte) (hashResult, error) {
	back := drainAsync(c)
	_, err := c.Write(data)
	if err == nil {
		err = c.CloseWrite()
	}
	res := <-back
	return res, err
}

func TestProxyIntegrity(t *testing.T) {
	forEachBackend(t, Config{}, func(t *testing.T, e *Engine) {
		const conns = 120
		maxSize := 4 << 20
		if quickSizes() {
			maxSize = 256 << 10 // the race detector's CI run must stay short
		}
		pool := testData(2 * maxSize)
		addr, results := proxyServer(t, e, echoServer(t), conns+1)
		rng := rand.New(rand.NewSource(1))
		var wg sync.WaitGroup
		var total int64
		for i := 0; i < conns; i++ {
			size := rng.Intn(maxSize + 1)
			if i%40 == 0 {
				size = 0
			}
			off := rng.Intn(maxSize)
			data := pool[off : off+size]
			total += int64(size)
			c, err := net.DialTCP("tcp", nil, addr)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := echoThrough(c, data)
				if err != nil {
					t.Errorf("client write: %v", err)
					return
				}
				if got.err != nil || got.n != int64(len(data)) || got.sum != sha256.Sum256(data) {
					t.Errorf("echo of %d bytes: got %d bytes (%v), sum match %v", len(data), got.n, got.err, got.sum == sha256.Sum256(data))
				}
			}()
		}
		wg.Wait()
		var up, down int64
		for i := 0; i < conns; i++ {
			r := <-results
			if r.err != nil {
				t.Errorf("Proxy: %v", r.err)
			}
			up += r.aToB
			down += r.bToA
		}
		if up != total || down != total {
			t.Errorf("Proxy totals %d up, %d down; want %d each", up, down, total)
		}
		t.Logf("%d connections, %d MiB each way", conns, total>>20)
	})
}

func TestProxyEcho48MiB(t *testing.T) {
	forEachBackend(t, Config{}, func(t *testing.T, e *Engine) {
		data := testData(48 << 20)
		addr, results := proxyServer(t, e, echoServer(t), 1)
		c, err := net.DialTCP("tcp", nil, addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		got, err := echoThrough(c, data)
		if err != nil {
			t.Fatal(err)
		}
		checkArrived(t, got, data)
		r := <-results
		if r.err != nil || r.aToB != int64(len(data)) || r.bToA != int64(len(data)) {
			t.Fatalf("Proxy = %d, %d, %v", r.aToB, r.bToA, r.err)
		}
	})
}

// proxyPair sets up Proxy(a, b) between two TCP connections and returns
// a's and b's peers and the Proxy's result.
func proxyPair(t *testing.T, ctx context.Context, e *Engine) (aPeer, bPeer *net.TCPConn, res <-chan proxyResult) {
	t.Helper()
	aPeer, a := tcpPair(t)
	b, bPeer := tcpPair(t)
	ch := make(chan proxyResult, 1)
	go func() {
		x, y, err := e.Proxy(ctx, a, b)
		ch <- proxyResult{x, y, err}
	}()
	return aPeer, bPeer, ch
}

// readAllTimeout reads c to EOF within 10 s.
func readAllTimeout(t *testing.T, c *net.TCPConn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(b)
}

func TestProxyHalfClose(t *testing.T) {
	forEachBackend(t, Config{}, func(t *testing.T, e *Engine) {
		aPeer, bPeer, res := proxyPair(t, context.Background(), e)
		aPeer.Write([]byte("hello"))
		aPeer.CloseWrite()
		if got := readAllTimeout(t, bPeer); got != "hello" {
			t.Fatalf("b's peer got %q", got)
		}
		// a -> b is over and b's write side closed; b -> a still runs.
		select {
		case r := <-res:
			t.Fatalf("Proxy returned after one direction: %+v", r)
		case <-time.After(50 * time.Millisecond):
		}
		bPeer.Write([]byte("world, at length"))
		bPeer.CloseWrite()
		if got := readAllTimeout(t, aPeer); got != "world, at length" {
			t.Fatalf("a's peer got %q", got)
		}
		r := waitResult(t, res, 10*time.Second)
		if r.err != nil || r.aToB != 5 || r.bToA != 16 {
			t.Fatalf("Proxy = %d, %d, %v; want 5, 16, nil", r.aToB, r.bToA, r.err)
		}
	})
}

func TestProxyZeroLength(t *testing.T) {
	forEachBackend(t, Config{}, func(t *testing.T, e *Engine) {
		aPeer, bPeer, res := proxyPair(t, context.Background(), e)
		aPeer.CloseWrite()
		bPeer.CloseWrite()
		r := waitResult(t, res, 10*time.Second)
		if r.err != nil || r.aToB != 0 || r.bToA != 0 {
			t.Fatalf("Proxy = %d, %d, %v; want 0, 0, nil", r.aToB, r.bToA, r.err)
		}
		if got := readAllTimeout(t, aPeer); got != "" {
			t.Fatalf("a's peer got %q", got)
		}
		if got := readAllTimeout(t, bPeer); got != "" {
			t.Fatalf("b's peer got %q", got)
		}
	})
}

func TestProxyCancel(t *testing.T) {
	forEachBackend(t, Config{}, func(t *testing.T, e *Engine) {
		ctx, cancel := context.WithCancel(context.Background())
		aPeer, bPeer, res := proxyPair(t, ctx, e)
		roundTrip(t, "a -> b", aPeer, bPeer, "ping")
		roundTrip(t, "b -> a", bPeer, aPeer, "pong")
		time.Sleep(20 * time.Millisecond)
		cancel()
		r := waitResult(t, res, 10*time.Second)
		if !errors.Is(r.err, context.Canceled) || r.aToB != 4 || r.bToA != 4 {
			t.Fatalf("cancelled Proxy = %d, %d, %v; want 4, 4, context.Canceled", r.aToB, r.bToA, r.err)
		}
	})
}

// TestProxyReset: a reset on either side ends both directions with an error
// wrapping ECONNRESET, and leaves the engine's other transfers alone.
func TestProxyReset(t *testing.T) {
	forEachBackend(t, Config{}, func(t *testing.T, e *Engine) {
		for _, side := range []string{"a", "b"} {
			otherA, otherB, otherRes := proxyPair(t, context.Background(), e)
			roundTrip(t, "other", otherA, otherB, "before")
			aPeer, bPeer, res := proxyPair(t, context.Background(), e)
			roundTrip(t, "a -> b", aPeer, bPeer, "ping")
			gone := aPeer
			if side == "b" {
				gone = bPeer
			}
			gone.SetLinger(0)
			gone.Close()
			r := waitResult(t, res, 10*time.Second)
			if !errors.Is(r.err, syscall.ECONNRESET) {
				t.Fatalf("reset of %s: Proxy = %d, %d, %v; want ECONNRESET", side, r.aToB, r.bToA, r.err)
			}
			// The other proxied connection still works both ways.
			roundTrip(t, "other a -> b", otherA, otherB, "after")
			roundTrip(t, "other b -> a", otherB, otherA, "after")
			otherA.CloseWrite()
			otherB.CloseWrite()
			if r := waitResult(t, otherRes, 10*time.Second); r.err != nil {
				t.Fatalf("other Proxy: %v", r.err)
			}
		}
	})
}

// raiseNoFile raises RLIMIT_NOFILE to at least n if it can, and reports the
// soft limit in force.
func raiseNoFile(t *testing.T, n uint64) uint64 {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur >= n {
		return lim.Cur
	}
	old := lim
	want := lim
	want.Cur = n
	if want.Max < n {
		want.Max = n
	}
	if unix.Setrlimit(unix.RLIMIT_NOFILE, &want) != nil {
		want.Max = old.Max
		want.Cur = old.Max
		if unix.Setrlimit(unix.RLIMIT_NOFILE, &want) != nil {
			return old.Cur
		}
	}
	t.Cleanup(func() { unix.Setrlimit(unix.RLIMIT_NOFILE, &old) })
	return want.Cur
}

// TestProxyScaleIdle: idle proxied connections add few threads, an idle
// connection costs the poll backend only its sockets and io_uring its
// sockets and the ring's duplicates of them (on both, both directions hand
// their pipes back to the pool), and all of them still answer afterwards.
// 10,000 connections, with the clients, the proxy and the upstream all in
// this process, where RLIMIT_NOFILE can be raised to 65,536; where the hard
// limit is lower, as many as it allows (four sockets each). 1,500 under the
// race detector (which allows 8,128 live goroutines) and on io_uring, whose
// ring works on duplicates of the sockets.
func TestProxyScaleIdle(t *testing.T) {
	lim := raiseNoFile(t, 65536)
	forEachBackend(t, Config{}, func(t *testing.T, e *Engine) {
		conns := min(10000, int(lim-512)/4)
		if testprog.Instrumented || e.Backend() == BackendIOUring {
			conns = min(conns, 1500)
		}
		if conns < 1000 {
			t.Fatalf("RLIMIT_NOFILE %d allows only %d connections", lim, conns)
		}
		baseFDs := openFDs(t)
		addr, results := proxyServer(t, e, echoServer(t), conns)
		threads := osThreads(t)
		clients := make([]*net.TCPConn, 0, conns)
		for i := 0; i < conns; i++ {
			c, err := net.DialTCP("tcp", nil, addr)
			if err != nil {
				t.Fatalf("dial %d: %v", i, err)
			}
			t.Cleanup(func() { c.Close() })
			clients = append(clients, c)
		}
		// Let every connection reach its idle state: the proxy accepts and
		// dials one connection after another, which under the race detector
		// on a loaded machine takes tens of seconds for the last one.
		last := clients[conns-1]
		roundTripWithin(t, 3*time.Minute, "last connection", last, last, "x")
		time.Sleep(300 * time.Millisecond)
		// Client, proxy end, upstream end and echo end: four sockets per
		// connection, and on the poll backend nothing else (the two
		// listeners and the pool's idle pipes aside).
		perConn := float64(openFDs(t)-baseFDs-2) / float64(conns)
		t.Logf("%d idle proxied connections: %.2f descriptors each (4 sockets)", conns, perConn)
		if e.Backend() == BackendPoll && perConn > 4 {
			t.Errorf("%d idle proxied connections hold %.2f descriptors each, want their 4 sockets", conns, perConn)
		}
		if e.Backend() == BackendIOUring {
			// The ring's pool aside: the four sockets and the ring's
			// duplicates of each direction's src and dst, no pipe.
			n := float64(openFDs(t)-baseFDs-2-2*e.pooledPipes()) / float64(conns)
			if n > 8 {
				t.Errorf("%d idle proxied connections hold %.2f descriptors each besides the ring's pool, want 4 sockets and 4 duplicates", conns, n)
			}
		}
		added := osThreads(t) - threads
		t.Logf("%d idle proxied connections added %d threads", conns, added)
		if added >= 64 {
			t.Errorf("%d idle proxied connections added %d threads, want < 64", conns, added)
		}
		// Every connection still answers.
		var wg sync.WaitGroup
		sem := make(chan struct{}, 64)
		for i, c := range clients {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				msg := []byte{byte(i)}
				c.SetDeadline(time.Now().Add(20 * time.Second))
				if _, err := c.Write(msg); err != nil {
					t.Errorf("conn %d: write: %v", i, err)
					return
				}
				var b [1]byte
				if _, err := io.ReadFull(c, b[:]); err != nil || b[0] != msg[0] {
					t.Errorf("conn %d: read %v, %v", i, b, err)
				}
				c.CloseWrite()
			}()
		}
		wg.Wait()
		for i := 0; i < conns; i++ {
			r := waitResult(t, results, 30*time.Second)
			if r.err != nil || r.aToB != r.bToA {
				t.Errorf("Proxy = %d, %d, %v", r.aToB, r.bToA, r.err)
			}
		}
		for _, c := range clients {
			c.Close()
		}
	})
}

// TestProxyAllocs checks that Proxy and DoubleSplice on the poll backend
// allocate nothing in steady state: transfers, proxies and helper
// goroutines are pooled, and no descriptor is duplicated.
func TestProxyAllocs(t *testing.T) {
	if testprog.Instrumented {
		t.Skip("the race detector allocates")
	}
	e, err := NewEngine(Config{ForcePoll: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	const runs, size = 220, 4 << 10
	data := testData(size)
	// ends returns a connection whose peer has sent data and half-closed.
	ends := func() *net.UnixConn {
		c, peer := unixPair(t)
		if _, err := peer.Write(data); err != nil {
			t.Fatal(err)
		}
		peer.CloseWrite()
		return c
	}
	type set struct{ a, b *net.UnixConn }
	sets := func() []set {
		s := make([]set, runs)
		for i := range s {
			s[i] = set{ends(), ends()}
		}
		return s
	}
	ctx := context.Background()

	t.Run("DoubleSplice", func(t *testing.T) {
		s, i := sets(), 0
		allocCheck(t, func() {
			if n, err := e.DoubleSplice(ctx, s[i].b, s[i].a); n != size || err != nil {
				t.Fatalf("DoubleSplice = %d, %v", n, err)
			}
			i++
		})
	})
	t.Run("Proxy", func(t *testing.T) {
		s, i := sets(), 0
		allocCheck(t, func() {
			if x, y, err := e.Proxy(ctx, s[i].a, s[i].b); x != size || y != size || err != nil {
				t.Fatalf("Proxy = %d, %d, %v", x, y, err)
			}
			i++
		})
	})
}
