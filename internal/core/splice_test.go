//go:build linux

package core

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kpipe/kpipe/internal/testprog"
)

// TestSpliceMatrix moves every size between a *Pipe and every kind of
// descriptor, in both directions, with Splice's n < 0 loop, and checks what
// arrives by its SHA-256.
func TestSpliceMatrix(t *testing.T) {
	fdWithPipe := func(sk srcKind, dk dstKind) bool { return sk.fd && dk.fd && (sk.pipe || dk.pipe) }
	transferMatrix(t, "Splice", fdWithPipe, func(t *testing.T, _ srcKind, _ dstKind, dst io.Writer, src io.Reader) (int64, error) {
		return Splice(dst, src, -128<<10)
	})
}

// TestSpliceSteps moves data with n > 0 one step at a time: no step moves
// more than n, every step moves something until end of input, and end of
// input is (0, nil), again and again.
func TestSpliceSteps(t *testing.T) {
	data := testData(1<<20 + 7)
	for _, name := range []string{"file", "tcp", "unix", "ospipe", "pipe"} {
		name := name
		t.Run(name+"->pipe", func(t *testing.T) {
			src, srcWait := findSrc(t, name).open(t, data)
			p := newTestPipe(t)
			got := drainAsync(p)
			const step = 100_000
			spliceSteps(t, p, src, step, int64(len(data)))
			for i := 0; i < 3; i++ {
				if n, err := Splice(p, src, step); n != 0 || err != nil {
					t.Fatalf("Splice at end of input = %d, %v; want 0, nil", n, err)
				}
			}
			p.CloseWrite()
			checkArrived(t, <-got, data)
			if err := srcWait(); err != nil {
				t.Fatal(err)
			}
		})
		if name == "pipe" {
			continue // pipe->pipe ran above
		}
		t.Run("pipe->"+name, func(t *testing.T) {
			p := newTestPipe(t)
			wait := feedAsync(t, p, data, func() { p.CloseWrite() }, func() { p.Close() })
			dst, finish := findDst(t, name).open(t)
			const step = 70_000
			spliceSteps(t, dst, p, step, int64(len(data)))
			if n, err := Splice(dst, p, step); n != 0 || err != nil {
				t.Fatalf("Splice at end of input = %d, %v; want 0, nil", n, err)
			}
			if err := wait(); err != nil {
				t.Fatal(err)
			}
			checkArrived(t, finish(), data)
		})
	}
}

// TestSpliceEOF checks the three forms of n at end of input and before it.
func TestSpliceEOF(t *testing.T) {
	msg := []byte("hello, kernel")

	t.Run("n>0", func(t *testing.T) {
		p := newTestPipe(t)
		p.Write(msg)
		p.CloseWrite()
		dst := tempFileRW(t)
		if n, err := Splice(dst, p, 1000); n != int64(len(msg)) || err != nil {
			t.Fatalf("Splice = %d, %v; want %d, nil", n, err, len(msg))
		}
		if n, err := Splice(dst, p, 1000); n != 0 || err != nil {
			t.Fatalf("Splice at EOF = %d, %v; want 0, nil", n, err)
		}
		if got := fileContents(t, dst); !bytes.Equal(got, msg) {
			t.Fatalf("file holds %q, want %q", got, msg)
		}
	})

	t.Run("n<0", func(t *testing.T) {
		p := newTestPipe(t)
		p.Write(msg)
		p.CloseWrite()
		dst := tempFileRW(t)
		// Steps of 3 bytes, yet the total comes back.
		if n, err := Splice(dst, p, -3); n != int64(len(msg)) || err != nil {
			t.Fatalf("Splice(-3) = %d, %v; want %d, nil", n, err, len(msg))
		}
		if got := fileContents(t, dst); !bytes.Equal(got, msg) {
			t.Fatalf("file holds %q, want %q", got, msg)
		}
		if n, err := Splice(dst, p, -3); n != 0 || err != nil {
			t.Fatalf("Splice(-3) at EOF = %d, %v; want 0, nil", n, err)
		}
	})

	t.Run("n<0-waits-for-eof", func(t *testing.T) {
		// The total is only returned once the writer is done.
		p := newTestPipe(t)
		c, s := tcpPair(t)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				c.Write(msg)
				time.Sleep(5 * time.Millisecond)
			}
			c.CloseWrite()
		}()
		got := drainAsync(p)
		n, err := Splice(p, s, -4096)
		wg.Wait()
		if n != 5*int64(len(msg)) || err != nil {
			t.Fatalf("Splice(-4096) = %d, %v; want %d, nil", n, err, 5*len(msg))
		}
		p.CloseWrite()
		checkArrived(t, <-got, bytes.Repeat(msg, 5))
	})

	t.Run("n==0", func(t *testing.T) {
		p := newTestPipe(t)
		p.Write(msg)
		dst := tempFileRW(t)
		if n, err := Splice(dst, p, 0); n != 0 || err != nil {
			t.Fatalf("Splice(0) = %d, %v; want 0, nil", n, err)
		}
		if b, err := p.Buffered(); err != nil || b != len(msg) {
			t.Fatalf("Buffered after Splice(0) = %d, %v; want %d", b, err, len(msg))
		}
		// Nothing to read and the writer still open: Splice(0) must
		// not wait either.
		empty := newTestPipe(t)
		if n, err := Splice(dst, empty, 0); n != 0 || err != nil {
			t.Fatalf("Splice(0) on an empty pipe = %d, %v; want 0, nil", n, err)
		}
		if n, err := Splice(empty, tempFileWith(t, msg), 0); n != 0 || err != nil {
			t.Fatalf("Splice(0) into a pipe = %d, %v; want 0, nil", n, err)
		}
		if b, _ := empty.Buffered(); b != 0 {
			t.Fatalf("Splice(0) put %d bytes into the pipe", b)
		}
	})

	t.Run("file-at-eof", func(t *testing.T) {
		f := tempFileWith(t, msg)
		f.Seek(0, io.SeekEnd)
		p := newTestPipe(t)
		if n, err := Splice(p, f, 100); n != 0 || err != nil {
			t.Fatalf("Splice from a file at EOF = %d, %v; want 0, nil", n, err)
		}
	})

	t.Run("tcp-peer-closed", func(t *testing.T) {
		c, s := tcpPair(t)
		c.Write(msg)
		c.Close()
		p := newTestPipe(t)
		if n, err := Splice(p, s, 100); n != int64(len(msg)) || err != nil {
			t.Fatalf("Splice = %d, %v; want %d, nil", n, err, len(msg))
		}
		if n, err := Splice(p, s, 100); n != 0 || err != nil {
			t.Fatalf("Splice from a closed connection = %d, %v; want 0, nil", n, err)
		}
	})

	t.Run("unix-peer-closed", func(t *testing.T) {
		a, b := unixPair(t)
		a.Close()
		p := newTestPipe(t)
		if n, err := Splice(p, b, 100); n != 0 || err != nil {
			t.Fatalf("Splice from a closed Unix socket = %d, %v; want 0, nil", n, err)
		}
	})
}

// TestSpliceWaits checks that a Splice step waits until it can move at least
// one byte, on either side.
func TestSpliceWaits(t *testing.T) {
	t.Run("for-data", func(t *testing.T) {
		c, s := tcpPair(t)
		p := newTestPipe(t)
		go func() {
			time.Sleep(20 * time.Millisecond)
			c.Write([]byte("late"))
		}()
		if n, err := Splice(p, s, 100); n != 4 || err != nil {
			t.Fatalf("Splice = %d, %v; want 4, nil", n, err)
		}
	})
	t.Run("for-room", func(t *testing.T) {
		p := newTestPipe(t)
		capacity, _ := p.Cap()
		fill := testData(capacity)
		if n, err := p.Write(fill); n != capacity || err != nil {
			t.Fatalf("filling the pipe: %d, %v", n, err)
		}
		src := tempFileWith(t, []byte("more"))
		go func() {
			time.Sleep(20 * time.Millisecond)
			buf := make([]byte, 4096)
			p.Read(buf)
		}()
		if n, err := Splice(p, src, 100); n != 4 || err != nil {
			t.Fatalf("Splice into a full pipe = %d, %v; want 4, nil", n, err)
		}
	})
}

// TestSpliceFileOffsets checks that Splice reads and writes files at their
// offsets and advances them as read and write do.
func TestSpliceFileOffsets(t *testing.T) {
	data := testData(100_000)
	src := tempFileWith(t, data)
	const off = 4321
	if _, err := src.Seek(off, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	p := newTestPipe(t)
	if n, err := Splice(p, src, 5000); n != 5000 || err != nil {
		t.Fatalf("Splice = %d, %v; want 5000, nil", n, err)
	}
	if got := fileOffset(t, src); got != off+5000 {
		t.Fatalf("source offset %d after Splice, want %d", got, off+5000)
	}

	dst := tempFileRW(t)
	dst.Write([]byte("0123456789"))
	dst.Seek(3, io.SeekStart)
	if n, err := Splice(dst, p, 2000); n != 2000 || err != nil {
		t.Fatalf("Splice = %d, %v; want 2000, nil", n, err)
	}
	if got := fileOffset(t, dst); got != 2003 {
		t.Fatalf("destination offset %d after Splice, want 2003", got)
	}
	want := append([]byte("012"), data[off:off+2000]...)
	if got := fileContents(t, dst); !bytes.Equal(got, want) {
		t.Fatalf("destination holds %d bytes, not the %d expected", len(got), len(want))
	}
	// The rest stays in the pipe, in order.
	rest := make([]byte, 3000)
	if _, err := io.ReadFull(p, rest); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rest, data[off+2000:off+5000]) {
		t.Fatal("the pipe's remaining bytes are not the next ones of the file")
	}
}

// TestSpliceErrors checks ErrNeedPipe and ErrNoFD.
func TestSpliceErrors(t *testing.T) {
	p := newTestPipe(t)
	f := tempFileWith(t, []byte("x"))
	out := tempFileRW(t)
	c, s := tcpPair(t)
	var buf bytes.Buffer
	var nilPipe *Pipe
	var nilFile *os.File

	needPipe := []struct {
		name string
		dst  io.Writer
		src  io.Reader
	}{
		{"file->file", out, f},
		{"file->tcp", c, f},
		{"tcp->file", out, s},
		{"tcp->tcp", c, s},
		{"bytes->bytes", &buf, bytes.NewReader([]byte("x"))},
		{"file->bytes", &buf, f},
	}
	for _, tc := range needPipe {
		if n, err := Splice(tc.dst, tc.src, 10); !errors.Is(err, ErrNeedPipe) || n != 0 {
			t.Errorf("%s: Splice = %d, %v; want 0, ErrNeedPipe", tc.name, n, err)
		}
	}
	if got := fileOffset(t, f); got != 0 {
		t.Errorf("a refused Splice moved the source offset to %d", got)
	}

	noFD := []struct {
		name string
		dst  io.Writer
		src  io.Reader
	}{
		{"bytes.Reader->pipe", p, bytes.NewReader([]byte("x"))},
		{"LimitedReader->pipe", p, io.LimitReader(f, 1)},
		{"pipe->bytes.Buffer", &buf, p},
		{"pipe->discard", io.Discard, p},
		{"nil-pipe->pipe", p, nilPipe},
		{"pipe->nil-file", nilFile, p},
	}
	for _, tc := range noFD {
		if n, err := Splice(tc.dst, tc.src, 10); !errors.Is(err, ErrNoFD) || n != 0 {
			t.Errorf("%s: Splice = %d, %v; want 0, ErrNoFD", tc.name, n, err)
		}
	}
	closed := tempFileWith(t, []byte("x"))
	closed.Close()
	if _, err := Splice(p, closed, 10); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Splice from a closed file: %v, want os.ErrClosed", err)
	}
	if _, err := Splice(closed, p, 10); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Splice into a closed file: %v, want os.ErrClosed", err)
	}
	cc, _ := tcpPair(t)
	cc.Close()
	if _, err := Splice(p, cc, 10); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Splice from a closed connection: %v, want net.ErrClosed", err)
	}
	if n, err := Tee(p, nilPipe, 10); !errors.Is(err, ErrNoFD) || n != 0 {
		t.Errorf("Tee from a nil *Pipe = %d, %v; want 0, ErrNoFD", n, err)
	}
	if n, err := Tee(nilPipe, p, 10); !errors.Is(err, ErrNoFD) || n != 0 {
		t.Errorf("Tee into a nil *Pipe = %d, %v; want 0, ErrNoFD", n, err)
	}
	if got := fileOffset(t, f); got != 0 {
		t.Errorf("a refused Splice moved the source offset to %d", got)
	}
}

// TestTee checks that Tee duplicates without consuming.
func TestTee(t *testing.T) {
	msg := testData(10_000)

	t.Run("duplicates", func(t *testing.T) {
		src, dst := newTestPipe(t), newTestPipe(t)
		src.Write(msg)
		n, err := Tee(dst, src, 1<<20)
		if n != int64(len(msg)) || err != nil {
			t.Fatalf("Tee = %d, %v; want %d, nil", n, err, len(msg))
		}
		if b, err := src.Buffered(); b != len(msg) || err != nil {
			t.Fatalf("source Buffered = %d, %v after Tee; want %d", b, err, len(msg))
		}
		if b, err := dst.Buffered(); b != len(msg) || err != nil {
			t.Fatalf("destination Buffered = %d, %v after Tee; want %d", b, err, len(msg))
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(dst, got); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("destination holds other bytes (%v)", err)
		}
		if _, err := io.ReadFull(src, got); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("source holds other bytes after Tee (%v)", err)
		}
	})

	t.Run("partial-and-negative", func(t *testing.T) {
		src, dst := newTestPipe(t), newTestPipe(t)
		src.Write(msg)
		if n, err := Tee(dst, src, 100); n != 100 || err != nil {
			t.Fatalf("Tee(100) = %d, %v; want 100, nil", n, err)
		}
		if n, err := Tee(dst, src, -50); n != 50 || err != nil {
			t.Fatalf("Tee(-50) = %d, %v; want 50, nil", n, err)
		}
		if n, err := Tee(dst, src, 0); n != 0 || err != nil {
			t.Fatalf("Tee(0) = %d, %v; want 0, nil", n, err)
		}
		got := make([]byte, 150)
		io.ReadFull(dst, got)
		if !bytes.Equal(got, append(append([]byte(nil), msg[:100]...), msg[:50]...)) {
			t.Fatal("Tee duplicated the wrong bytes")
		}
		if b, _ := src.Buffered(); b != len(msg) {
			t.Fatalf("source Buffered = %d, want %d", b, len(msg))
		}
	})

	t.Run("eof", func(t *testing.T) {
		src, dst := newTestPipe(t), newTestPipe(t)
		src.CloseWrite()
		if n, err := Tee(dst, src, 100); n != 0 || err != nil {
			t.Fatalf("Tee at EOF = %d, %v; want 0, nil", n, err)
		}
	})

	t.Run("waits-for-data", func(t *testing.T) {
		src, dst := newTestPipe(t), newTestPipe(t)
		go func() {
			time.Sleep(20 * time.Millisecond)
			src.Write([]byte("late"))
		}()
		if n, err := Tee(dst, src, 100); n != 4 || err != nil {
			t.Fatalf("Tee = %d, %v; want 4, nil", n, err)
		}
	})

	t.Run("waits-for-room", func(t *testing.T) {
		src, dst := newTestPipe(t), newTestPipe(t)
		capacity, _ := dst.Cap()
		dst.Write(testData(capacity))
		src.Write([]byte("more"))
		go func() {
			time.Sleep(20 * time.Millisecond)
			dst.Read(make([]byte, 4096))
		}()
		if n, err := Tee(dst, src, 100); n != 4 || err != nil {
			t.Fatalf("Tee into a full pipe = %d, %v; want 4, nil", n, err)
		}
	})

	t.Run("deadline", func(t *testing.T) {
		src, dst := newTestPipe(t), newTestPipe(t)
		src.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		if _, err := Tee(dst, src, 100); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Tee past the deadline: %v, want os.ErrDeadlineExceeded", err)
		}
	})
}

// TestSpliceDeadlines checks that a waiting Splice honours the deadline of
// the side it waits on.
func TestSpliceDeadlines(t *testing.T) {
	t.Run("tcp-read", func(t *testing.T) {
		_, s := tcpPair(t)
		p := newTestPipe(t)
		s.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		if _, err := Splice(p, s, 100); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Splice from an idle connection past its deadline: %v", err)
		}
	})
	t.Run("pipe-read", func(t *testing.T) {
		p := newTestPipe(t)
		p.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		if _, err := Splice(tempFileRW(t), p, 100); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Splice from an empty pipe past its deadline: %v", err)
		}
		p.SetReadDeadline(time.Time{})
		p.Write([]byte("ok"))
		if n, err := Splice(tempFileRW(t), p, 100); n != 2 || err != nil {
			t.Fatalf("Splice after clearing the deadline = %d, %v", n, err)
		}
	})
	t.Run("pipe-write", func(t *testing.T) {
		p := newTestPipe(t)
		capacity, _ := p.Cap()
		p.Write(testData(capacity))
		p.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
		if _, err := Splice(p, tempFileWith(t, []byte("x")), 100); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Splice into a full pipe past its deadline: %v", err)
		}
	})
	t.Run("tcp-write", func(t *testing.T) {
		c, _ := tcpPair(t)
		p := newTestPipe(t)
		stop := writeForever(p, testData(1<<20))
		defer stop()
		c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		n, err := Splice(c, p, -1<<20)
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Splice into a connection nobody reads = %d, %v; want a deadline error", n, err)
		}
		if n <= 0 {
			t.Fatalf("Splice reported %d bytes moved before the connection filled up", n)
		}
	})
}

// TestSplicePeerGone splices from a *Pipe into endpoints whose reader has
// gone away: the error wraps EPIPE or ECONNRESET and the process lives.
func TestSplicePeerGone(t *testing.T) {
	data := testData(4 << 20)
	dsts := []struct {
		name string
		open func(t *testing.T) io.Writer
		ok   func(error) bool
	}{
		{"tcp-closed", func(t *testing.T) io.Writer { return deadTCPConn(t, false) }, isPeerGone},
		{"tcp-reset", func(t *testing.T) io.Writer { return deadTCPConn(t, true) }, isPeerGone},
		{"unix", func(t *testing.T) io.Writer {
			a, b := unixPair(t)
			b.Close()
			return a
		}, isPeerGone},
		{"ospipe", func(t *testing.T) io.Writer {
			r, w := osPipe(t)
			r.Close()
			return w
		}, func(err error) bool { return errors.Is(err, syscall.EPIPE) }},
		{"pipe", func(t *testing.T) io.Writer {
			p := newTestPipe(t)
			p.r.Close()
			return p
		}, func(err error) bool { return errors.Is(err, syscall.EPIPE) }},
	}
	for _, d := range dsts {
		for _, n := range []int64{1 << 20, -(1 << 20)} {
			d, n := d, n
			t.Run(fmt.Sprintf("%s/%d", d.name, n), func(t *testing.T) {
				dst := d.open(t)
				p := newTestPipe(t)
				feedAsync(t, p, data, func() { p.CloseWrite() }, func() { p.Close() })
				var err error
				var total int64
				for i := 0; i < 100 && err == nil; i++ {
					var m int64
					m, err = Splice(dst, p, n)
					total += m
				}
				if !d.ok(err) {
					t.Fatalf("Splice into %s = %d, %v; want EPIPE or ECONNRESET", d.name, total, err)
				}
				if sc, ok := dst.(syscall.Conn); ok && d.name != "pipe" {
					requireNonblock(t, d.name, sc)
				}
			})
		}
	}
}

// TestSpliceKeepsNonblocking checks that Splice leaves the caller's
// descriptors in non-blocking mode.
func TestSpliceKeepsNonblocking(t *testing.T) {
	data := testData(300_000)
	c, s := tcpPair(t)
	r, w := osPipe(t)
	p := newTestPipe(t)
	feedAsync(t, c, data, func() { c.CloseWrite() }, func() { c.Close() })
	got := drainAsync(r)
	for {
		n, err := Splice(p, s, 50_000)
		if err != nil {
			t.Fatalf("Splice from TCP: %v", err)
		}
		if n == 0 {
			break
		}
		for left := n; left > 0; {
			m, err := Splice(w, p, left)
			if err != nil || m == 0 {
				t.Fatalf("Splice into os.Pipe = %d, %v", m, err)
			}
			left -= m
		}
	}
	requireNonblock(t, "tcp", s)
	requireNonblock(t, "ospipe-w", w)
	requireNonblock(t, "pipe-r", p.r)
	requireNonblock(t, "pipe-w", p.w)
	w.Close()
	checkArrived(t, <-got, data)
	requireNonblock(t, "ospipe-r", r)
}

// TestSpliceIdleThreads parks 300 Splice calls on idle sockets and checks
// that they hold no OS threads, then wakes them all.
func TestSpliceIdleThreads(t *testing.T) {
	const conns = 300
	ln := tcpListener(t)
	clients := make([]*net.TCPConn, conns)
	servers := make([]*net.TCPConn, conns)
	pipes := make([]*Pipe, conns)
	for i := range clients {
		clients[i], servers[i] = tcpPairOn(t, ln)
		pipes[i] = newTestPipe(t)
	}
	before := osThreads(t)

	type result struct {
		n   int64
		err error
	}
	results := make([]chan result, conns)
	for i := range results {
		results[i] = make(chan result, 1)
		go func(i int) {
			n, err := Splice(pipes[i], servers[i], 4096)
			results[i] <- result{n, err}
		}(i)
	}
	// Wake whatever is still parked if the test fails early.
	t.Cleanup(func() {
		for _, c := range clients {
			c.Close()
		}
		for _, ch := range results {
			<-ch
		}
	})
	checkIdleThreads(t, before, conns, "Splice")

	msg := []byte("wake up")
	for i, c := range clients {
		if i%2 == 0 {
			if _, err := c.Write(msg); err != nil {
				t.Fatal(err)
			}
		} else {
			c.Close()
		}
	}
	buf := make([]byte, 64)
	for i, ch := range results {
		r := <-ch
		ch <- r // for the cleanup
		if i%2 == 1 {
			if r.n != 0 || r.err != nil {
				t.Fatalf("Splice %d from a closed connection = %d, %v; want 0, nil", i, r.n, r.err)
			}
			continue
		}
		if r.n != int64(len(msg)) || r.err != nil {
			t.Fatalf("Splice %d = %d, %v; want %d, nil", i, r.n, r.err, len(msg))
		}
		if n, err := pipes[i].Read(buf); err != nil || !bytes.Equal(buf[:n], msg) {
			t.Fatalf("pipe %d holds %q (%v), want %q", i, buf[:n], err, msg)
		}
	}
}

// TestSpliceAllocs checks that Splice between a file and a *Pipe allocates
// nothing in steady state.
func TestSpliceAllocs(t *testing.T) {
	if testprog.Instrumented {
		t.Skip("the race detector allocates")
	}
	const step = 4096
	data := testData(step)
	buf := make([]byte, step)

	t.Run("file->pipe", func(t *testing.T) {
		src := tempFileWith(t, data)
		p := newTestPipe(t)
		allocCheck(t, func() {
			src.Seek(0, io.SeekStart)
			if n, err := Splice(p, src, step); n != step || err != nil {
				t.Fatalf("Splice = %d, %v", n, err)
			}
			if _, err := io.ReadFull(p, buf); err != nil {
				t.Fatal(err)
			}
		})
	})

	t.Run("pipe->file", func(t *testing.T) {
		dst := tempFileRW(t)
		p := newTestPipe(t)
		allocCheck(t, func() {
			if _, err := p.Write(data); err != nil {
				t.Fatal(err)
			}
			dst.Seek(0, io.SeekStart)
			if n, err := Splice(dst, p, step); n != step || err != nil {
				t.Fatalf("Splice = %d, %v", n, err)
			}
		})
	})

	t.Run("tcp->pipe", func(t *testing.T) {
		c, s := tcpPair(t)
		p := newTestPipe(t)
		allocCheck(t, func() {
			if _, err := c.Write(data); err != nil {
				t.Fatal(err)
			}
			for left := int64(step); left > 0; {
				n, err := Splice(p, s, left)
				if n <= 0 || err != nil {
					t.Fatalf("Splice = %d, %v", n, err)
				}
				left -= n
			}
			if _, err := io.ReadFull(p, buf); err != nil {
				t.Fatal(err)
			}
		})
	})
}

// TestTeeAllocs checks that Tee allocates nothing in steady state.
func TestTeeAllocs(t *testing.T) {
	if testprog.Instrumented {
		t.Skip("the race detector allocates")
	}
	const step = 4096
	src, dst := newTestPipe(t), newTestPipe(t)
	src.Write(testData(step))
	buf := make([]byte, step)
	allocCheck(t, func() {
		if n, err := Tee(dst, src, step); n != step || err != nil {
			t.Fatalf("Tee = %d, %v", n, err)
		}
		if _, err := io.ReadFull(dst, buf); err != nil {
			t.Fatal(err)
		}
	})
}
