//go:build linux

package core

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/kpipe/kpipe/internal/testprog"
)

// TestCopyMatrix copies every size between every pair of endpoint kinds, in
// both directions, and checks what arrives by its SHA-256.
func TestCopyMatrix(t *testing.T) {
	transferMatrix(t, "Copy", nil, func(t *testing.T, sk srcKind, dk dstKind, dst io.Writer, src io.Reader) (int64, error) {
		before := copyCallCounts()
		n, err := Copy(dst, src)
		if err != nil {
			return n, err
		}
		if got, want := copyMethodRan(before), wantCopyMethod(sk.name, dk.name); got != want {
			t.Errorf("Copy ran %s, want %s", got, want)
		}
		if f, ok := src.(*os.File); ok && sk.name == "file" {
			if off := fileOffset(t, f); off != n {
				t.Errorf("source offset %d after Copy, want %d", off, n)
			}
		}
		return n, nil
	})
}

// copyMethodNames name the copyMethods in test messages.
var copyMethodNames = [copyMethods]string{"splice", "copy_file_range", "sendfile", "splice through a pooled pipe", "read and write"}

func copyCallCounts() (c [copyMethods]int64) {
	for i := range c {
		c[i] = copyCalls[i].Load()
	}
	return c
}

// copyMethodRan names the one method whose count grew since before ("none"
// when Copy did not handle the pair itself, "several" if more than one).
func copyMethodRan(before [copyMethods]int64) string {
	ran := "none"
	for i, n := range copyCallCounts() {
		if n == before[i] {
			continue
		}
		if n != before[i]+1 || ran != "none" {
			return "several"
		}
		ran = copyMethodNames[i]
	}
	return ran
}

// wantCopyMethod is the method Copy must use between two endpoint kinds of
// srcKinds and dstKinds: zero-copy whenever both have descriptors.
func wantCopyMethod(src, dst string) string {
	fds := map[string]bool{"file": true, "pipe": true, "ospipe": true, "tcp": true, "conn": true, "unix": true}
	sockets := map[string]bool{"tcp": true, "conn": true, "unix": true}
	switch {
	case !fds[src] || !fds[dst]:
		return "none" // io.Copy's business
	case src == "pipe" || dst == "pipe" || src == "ospipe" || dst == "ospipe":
		return copyMethodNames[copySplice]
	case src == "file" && dst == "file":
		return copyMethodNames[copyRange]
	case src == "file" && sockets[dst]:
		return copyMethodNames[copySendfile]
	}
	return copyMethodNames[copyPipe]
}

// limitCases are the endpoint pairs TestCopyLimitedReader tries: every
// method Copy has.
var limitCases = []struct{ src, dst string }{
	{"file", "file"},   // copy_file_range
	{"file", "tcp"},    // sendfile
	{"tcp", "file"},    // splice through a pooled pipe
	{"tcp", "tcp"},     // splice through a pooled pipe
	{"ospipe", "file"}, // splice through a pooled pipe
	{"unix", "file"},   // splice through a pooled pipe
	{"file", "pipe"},   // splice into a *Pipe
	{"pipe", "file"},   // splice out of a *Pipe
	{"pipe", "tcp"},    // splice out of a *Pipe
	{"conn", "file"},   // a plain syscall.Conn
	{"bytes.Reader", "file"},
	{"file", "bytes.Buffer"},
	{"pipe", "bytes.Buffer"},
}

func findSrc(t *testing.T, name string) srcKind {
	for _, k := range srcKinds {
		if k.name == name {
			return k
		}
	}
	t.Fatalf("no source kind %q", name)
	return srcKind{}
}

func findDst(t *testing.T, name string) dstKind {
	for _, k := range dstKinds {
		if k.name == name {
			return k
		}
	}
	t.Fatalf("no destination kind %q", name)
	return dstKind{}
}

// TestCopyLimitedReader checks that Copy copies exactly N bytes of an
// *io.LimitedReader, updates N, and leaves the rest in the source.
func TestCopyLimitedReader(t *testing.T) {
	const size = 300_007
	data := testData(size)
	for _, c := range limitCases {
		for _, limit := range []int64{0, 1, 150_001, size, size + 1000} {
			c, limit := c, limit
			t.Run(fmt.Sprintf("%s->%s/%d", c.src, c.dst, limit), func(t *testing.T) {
				src, srcWait := findSrc(t, c.src).open(t, data)
				dst, finish := findDst(t, c.dst).open(t)
				lr := &io.LimitedReader{R: src, N: limit}
				n, err := Copy(dst, lr)
				if err != nil {
					t.Fatalf("Copy: %v", err)
				}
				want := min(limit, size)
				if n != want {
					t.Fatalf("Copy returned %d, want %d", n, want)
				}
				if lr.N != limit-want {
					t.Fatalf("lr.N = %d after Copy, want %d", lr.N, limit-want)
				}
				checkArrived(t, finish(), data[:want])
				// The rest is still in the source, not lost in a pipe.
				rest, err := io.ReadAll(src)
				if err != nil {
					t.Fatalf("reading the rest of the source: %v", err)
				}
				if !bytes.Equal(rest, data[want:]) {
					t.Fatalf("source kept %d bytes, want the %d after the limit", len(rest), size-want)
				}
				if err := srcWait(); err != nil {
					t.Fatalf("feeding the source: %v", err)
				}
			})
		}
	}
}

// TestCopyFileOffsets checks that Copy reads and writes files at their
// offsets and advances them as read and write would.
func TestCopyFileOffsets(t *testing.T) {
	data := testData(200_000)
	const skip = 12_345
	prefix := []byte("header\n")

	t.Run("file->file", func(t *testing.T) {
		src := tempFileWith(t, data)
		dst := tempFileRW(t)
		if _, err := src.Seek(skip, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		if _, err := dst.Write(prefix); err != nil {
			t.Fatal(err)
		}
		n, err := Copy(dst, src)
		if err != nil || n != int64(len(data)-skip) {
			t.Fatalf("Copy = %d, %v; want %d, nil", n, err, len(data)-skip)
		}
		if off := fileOffset(t, src); off != int64(len(data)) {
			t.Errorf("source offset %d, want %d", off, len(data))
		}
		if off := fileOffset(t, dst); off != int64(len(prefix)+len(data)-skip) {
			t.Errorf("destination offset %d, want %d", off, len(prefix)+len(data)-skip)
		}
		want := append(append([]byte(nil), prefix...), data[skip:]...)
		if got := fileContents(t, dst); !bytes.Equal(got, want) {
			t.Errorf("destination holds %d bytes, not the %d expected", len(got), len(want))
		}
	})

	t.Run("file->tcp", func(t *testing.T) {
		src := tempFileWith(t, data)
		if _, err := src.Seek(skip, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		c, s := tcpPair(t)
		got := drainAsync(s)
		n, err := Copy(c, src)
		if err != nil || n != int64(len(data)-skip) {
			t.Fatalf("Copy = %d, %v; want %d, nil", n, err, len(data)-skip)
		}
		c.CloseWrite()
		checkArrived(t, <-got, data[skip:])
		if off := fileOffset(t, src); off != int64(len(data)) {
			t.Errorf("source offset %d, want %d", off, len(data))
		}
	})

	t.Run("tcp->file", func(t *testing.T) {
		dst := tempFileRW(t)
		if _, err := dst.Write(prefix); err != nil {
			t.Fatal(err)
		}
		c, s := tcpPair(t)
		wait := feedAsync(t, c, data, func() { c.CloseWrite() }, func() { c.Close() })
		n, err := Copy(dst, s)
		if err != nil || n != int64(len(data)) {
			t.Fatalf("Copy = %d, %v; want %d, nil", n, err, len(data))
		}
		if err := wait(); err != nil {
			t.Fatal(err)
		}
		if off := fileOffset(t, dst); off != int64(len(prefix)+len(data)) {
			t.Errorf("destination offset %d, want %d", off, len(prefix)+len(data))
		}
		want := append(append([]byte(nil), prefix...), data...)
		if got := fileContents(t, dst); !bytes.Equal(got, want) {
			t.Errorf("destination holds %d bytes, not the %d expected", len(got), len(want))
		}
	})
}

// TestCopyAppend copies into a file opened with O_APPEND, which
// copy_file_range, sendfile and splice all refuse: Copy must fall back and
// lose nothing.
func TestCopyAppend(t *testing.T) {
	data := testData(1<<20 + 7)
	prefix := []byte("existing line\n")
	for _, name := range []string{"file", "pipe", "ospipe", "tcp", "unix", "bytes.Reader"} {
		for _, limit := range []int64{-1, 100_003} {
			name, limit := name, limit
			t.Run(fmt.Sprintf("%s/%d", name, limit), func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "log")
				if err := os.WriteFile(path, prefix, 0o600); err != nil {
					t.Fatal(err)
				}
				dst, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
				if err != nil {
					t.Fatal(err)
				}
				defer dst.Close()
				src, srcWait := findSrc(t, name).open(t, data)
				var r io.Reader = src
				want := data
				if limit >= 0 {
					r = &io.LimitedReader{R: src, N: limit}
					want = data[:limit]
				}
				n, err := Copy(dst, r)
				if err != nil {
					t.Fatalf("Copy to an O_APPEND file: %v", err)
				}
				if n != int64(len(want)) {
					t.Fatalf("Copy returned %d, want %d", n, len(want))
				}
				got, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, append(append([]byte(nil), prefix...), want...)) {
					t.Fatalf("file holds %d bytes, not the prefix and the %d copied", len(got), len(want))
				}
				rest, err := io.ReadAll(src)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(rest, data[len(want):]) {
					t.Fatalf("source kept %d bytes, want %d", len(rest), len(data)-len(want))
				}
				if err := srcWait(); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// TestCopyErrors checks the errors of Copy between descriptors.
func TestCopyErrors(t *testing.T) {
	t.Run("closed-source", func(t *testing.T) {
		f := tempFileWith(t, testData(10))
		f.Close()
		if _, err := Copy(tempFileRW(t), f); !errors.Is(err, os.ErrClosed) {
			t.Fatalf("Copy from a closed file: %v, want os.ErrClosed", err)
		}
	})
	t.Run("closed-pipe", func(t *testing.T) {
		p := newTestPipe(t)
		p.Close()
		if _, err := Copy(tempFileRW(t), p); !errors.Is(err, os.ErrClosed) {
			t.Fatalf("Copy from a closed *Pipe: %v, want os.ErrClosed", err)
		}
		if _, err := Copy(p, tempFileWith(t, testData(10))); !errors.Is(err, os.ErrClosed) {
			t.Fatalf("Copy into a closed *Pipe: %v, want os.ErrClosed", err)
		}
	})
	t.Run("closed-conn", func(t *testing.T) {
		_, s := tcpPair(t)
		s.Close()
		if _, err := Copy(tempFileRW(t), s); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Copy from a closed connection: %v, want net.ErrClosed", err)
		}
		if _, err := Copy(s, tempFileWith(t, testData(10))); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Copy into a closed connection: %v, want net.ErrClosed", err)
		}
		p := newTestPipe(t)
		p.Write([]byte("x"))
		if _, err := Copy(s, p); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Copy from a *Pipe into a closed connection: %v, want net.ErrClosed", err)
		}
	})
	t.Run("write-only-source", func(t *testing.T) {
		src := tempFileRW(t)
		ro, err := os.OpenFile(src.Name(), os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer ro.Close()
		if _, err := ro.Write([]byte("data")); err != nil {
			t.Fatal(err)
		}
		ro.Seek(0, io.SeekStart)
		if _, err := Copy(tempFileRW(t), ro); !errors.Is(err, syscall.EBADF) {
			t.Fatalf("Copy from a write-only file: %v, want EBADF", err)
		}
	})
}

// TestCopyPeerGone copies into sockets and pipes whose reader has gone away:
// the error wraps EPIPE or ECONNRESET and the process does not die of
// SIGPIPE.
func TestCopyPeerGone(t *testing.T) {
	data := testData(4 << 20)
	srcs := []string{"file", "pipe", "tcp", "ospipe", "bytes.Reader"}
	for _, reset := range []bool{false, true} {
		for _, sname := range srcs {
			reset, sname := reset, sname
			t.Run(fmt.Sprintf("tcp-reset=%v/%s", reset, sname), func(t *testing.T) {
				dst := deadTCPConn(t, reset)
				src, _ := findSrc(t, sname).open(t, data)
				n, err := Copy(dst, src)
				if !isPeerGone(err) {
					t.Fatalf("Copy into a dead connection = %d, %v; want EPIPE or ECONNRESET", n, err)
				}
				if n >= int64(len(data)) {
					t.Fatalf("Copy reported %d bytes delivered to a dead connection", n)
				}
				requireNonblock(t, "destination", dst)
			})
		}
	}
	t.Run("unix", func(t *testing.T) {
		for _, sname := range srcs {
			a, b := unixPair(t)
			b.Close()
			src, _ := findSrc(t, sname).open(t, data)
			if _, err := Copy(a, src); !isPeerGone(err) {
				t.Errorf("%s: Copy into a Unix socket without peer: %v; want EPIPE", sname, err)
			}
		}
	})
	t.Run("ospipe", func(t *testing.T) {
		for _, sname := range srcs {
			r, w := osPipe(t)
			r.Close()
			src, _ := findSrc(t, sname).open(t, data)
			if _, err := Copy(w, src); !errors.Is(err, syscall.EPIPE) {
				t.Errorf("%s: Copy into a pipe without reader: %v; want EPIPE", sname, err)
			}
		}
	})
	t.Run("kpipe", func(t *testing.T) {
		for _, sname := range srcs {
			p := newTestPipe(t)
			p.r.Close()
			src, _ := findSrc(t, sname).open(t, data)
			if _, err := Copy(p, src); !errors.Is(err, syscall.EPIPE) {
				t.Errorf("%s: Copy into a *Pipe without reader: %v; want EPIPE", sname, err)
			}
		}
	})
}

// TestCopyDevices copies from and to character devices, which take the
// pooled-pipe path or, where the kernel cannot splice them, the fallback.
func TestCopyDevices(t *testing.T) {
	zero, err := os.Open("/dev/zero")
	if err != nil {
		t.Skip(err)
	}
	defer zero.Close()
	null, err := os.OpenFile("/dev/null", os.O_WRONLY, 0)
	if err != nil {
		t.Skip(err)
	}
	defer null.Close()

	dst := tempFileRW(t)
	const size = 1<<20 + 7
	lr := &io.LimitedReader{R: zero, N: size}
	if n, err := Copy(dst, lr); n != size || err != nil || lr.N != 0 {
		t.Fatalf("Copy /dev/zero->file = %d, %v (N left %d); want %d, nil", n, err, lr.N, size)
	}
	if got := fileContents(t, dst); len(got) != size || !bytes.Equal(got, make([]byte, size)) {
		t.Fatalf("file holds %d bytes, not %d zeros", len(got), size)
	}

	data := testData(size)
	if n, err := Copy(null, tempFileWith(t, data)); n != size || err != nil {
		t.Fatalf("Copy file->/dev/null = %d, %v; want %d, nil", n, err, size)
	}
	c, s := tcpPair(t)
	wait := feedAsync(t, c, data, func() { c.CloseWrite() }, func() { c.Close() })
	if n, err := Copy(null, s); n != size || err != nil {
		t.Fatalf("Copy tcp->/dev/null = %d, %v; want %d, nil", n, err, size)
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
}

// TestCopyIdleThreads parks 100 Copy calls, each holding a pooled pipe, on
// idle sockets and checks that they hold no OS threads.
func TestCopyIdleThreads(t *testing.T) {
	const conns = 100
	null, err := os.OpenFile("/dev/null", os.O_WRONLY, 0)
	if err != nil {
		t.Skip(err)
	}
	defer null.Close()
	ln := tcpListener(t)
	clients := make([]*net.TCPConn, conns)
	servers := make([]*net.TCPConn, conns)
	for i := range clients {
		clients[i], servers[i] = tcpPairOn(t, ln)
	}
	before := osThreads(t)
	type result struct {
		n   int64
		err error
	}
	results := make(chan result, conns)
	for i := range servers {
		go func(i int) {
			n, err := Copy(null, servers[i])
			results <- result{n, err}
		}(i)
	}
	finished := false
	t.Cleanup(func() {
		if !finished {
			for _, c := range clients {
				c.Close()
			}
			for range clients {
				<-results
			}
		}
	})
	checkIdleThreads(t, before, conns, "Copy")
	msg := testData(1000)
	for _, c := range clients {
		c.Write(msg)
		c.CloseWrite()
	}
	for range clients {
		if r := <-results; r.n != int64(len(msg)) || r.err != nil {
			t.Errorf("Copy = %d, %v; want %d, nil", r.n, r.err, len(msg))
		}
	}
	finished = true
}

// TestCopyKeepsNonblocking checks that Copy never switches the caller's
// descriptors to blocking mode.
func TestCopyKeepsNonblocking(t *testing.T) {
	data := testData(300_000)
	check := func(t *testing.T, dst io.Writer, src io.Reader, conns map[string]syscall.Conn) {
		t.Helper()
		n, err := Copy(dst, src)
		if err != nil || n != int64(len(data)) {
			t.Fatalf("Copy = %d, %v; want %d, nil", n, err, len(data))
		}
		for name, c := range conns {
			requireNonblock(t, name, c)
		}
	}
	t.Run("file->tcp", func(t *testing.T) {
		c, s := tcpPair(t)
		got := drainAsync(s)
		check(t, c, tempFileWith(t, data), map[string]syscall.Conn{"client": c, "server": s})
		c.CloseWrite()
		checkArrived(t, <-got, data)
	})
	t.Run("tcp->file", func(t *testing.T) {
		c, s := tcpPair(t)
		feedAsync(t, c, data, func() { c.CloseWrite() }, func() { c.Close() })
		check(t, tempFileRW(t), s, map[string]syscall.Conn{"server": s})
	})
	t.Run("tcp->tcp", func(t *testing.T) {
		c1, s1 := tcpPair(t)
		c2, s2 := tcpPair(t)
		feedAsync(t, c1, data, func() { c1.CloseWrite() }, func() { c1.Close() })
		got := drainAsync(s2)
		check(t, c2, s1, map[string]syscall.Conn{"src": s1, "dst": c2})
		c2.CloseWrite()
		checkArrived(t, <-got, data)
	})
	t.Run("ospipe->ospipe", func(t *testing.T) {
		r1, w1 := osPipe(t)
		r2, w2 := osPipe(t)
		feedAsync(t, w1, data, func() { w1.Close() }, func() { r1.Close() })
		got := drainAsync(r2)
		check(t, w2, r1, map[string]syscall.Conn{"src": r1, "dst": w2})
		w2.Close()
		checkArrived(t, <-got, data)
	})
	t.Run("file->ospipe", func(t *testing.T) {
		r, w := osPipe(t)
		got := drainAsync(r)
		check(t, w, tempFileWith(t, data), map[string]syscall.Conn{"dst": w})
		w.Close()
		checkArrived(t, <-got, data)
	})
	t.Run("unix->pipe", func(t *testing.T) {
		a, b := unixPair(t)
		p := newTestPipe(t)
		feedAsync(t, a, data, func() { a.CloseWrite() }, func() { a.Close() })
		got := drainAsync(p)
		check(t, p, b, map[string]syscall.Conn{"src": b, "pipe-r": p.r, "pipe-w": p.w})
		p.CloseWrite()
		checkArrived(t, <-got, data)
	})
}

// TestCopyConcurrent runs many copies at once through the shared pipe pool.
func TestCopyConcurrent(t *testing.T) {
	data := testData(1<<20 + 7)
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := 0; i < 16; i++ {
		c1, s1 := tcpPair(t)
		c2, s2 := tcpPair(t)
		feedAsync(t, c1, data, func() { c1.CloseWrite() }, func() { c1.Close() })
		got := drainAsync(s2)
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := Copy(c2, s1)
			c2.CloseWrite()
			if err != nil || n != int64(len(data)) {
				errs <- fmt.Errorf("Copy = %d, %v", n, err)
				return
			}
			r := <-got
			if r.err != nil || r.n != int64(len(data)) || r.sum != dataSum(data) {
				errs <- fmt.Errorf("receiver got %d bytes (%v), sha256 %s", r.n, r.err, sumString(r.sum))
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestCopyAllocs checks that Copy between descriptors allocates nothing in
// steady state.
func TestCopyAllocs(t *testing.T) {
	if testprog.Instrumented {
		t.Skip("the race detector allocates")
	}
	const chunk = 64 << 10
	data := testData(chunk)

	t.Run("file->file", func(t *testing.T) {
		src := tempFileWith(t, data)
		dst := tempFileRW(t)
		allocCheck(t, func() {
			src.Seek(0, io.SeekStart)
			dst.Seek(0, io.SeekStart)
			if n, err := Copy(dst, src); n != chunk || err != nil {
				t.Fatalf("Copy = %d, %v", n, err)
			}
		})
	})

	t.Run("file->tcp", func(t *testing.T) {
		src := tempFileWith(t, data)
		c, s := tcpPair(t)
		done := discardAsync(s)
		allocCheck(t, func() {
			src.Seek(0, io.SeekStart)
			if n, err := Copy(c, src); n != chunk || err != nil {
				t.Fatalf("Copy = %d, %v", n, err)
			}
		})
		c.CloseWrite()
		<-done
	})

	t.Run("tcp->file", func(t *testing.T) {
		c, s := tcpPair(t)
		stop := writeForever(c, data)
		defer stop()
		dst := tempFileRW(t)
		lr := &io.LimitedReader{R: s}
		allocCheck(t, func() {
			dst.Seek(0, io.SeekStart)
			lr.N = chunk
			if n, err := Copy(dst, lr); n != chunk || err != nil {
				t.Fatalf("Copy = %d, %v", n, err)
			}
		})
	})

	t.Run("pipe->file", func(t *testing.T) {
		p := newTestPipe(t)
		dst := tempFileRW(t)
		lr := &io.LimitedReader{R: p}
		allocCheck(t, func() {
			if _, err := p.Write(data); err != nil {
				t.Fatal(err)
			}
			dst.Seek(0, io.SeekStart)
			lr.N = chunk
			if n, err := Copy(dst, lr); n != chunk || err != nil {
				t.Fatalf("Copy = %d, %v", n, err)
			}
		})
	})
}

// allocCheck warms f up and then requires it to allocate nothing.
func allocCheck(t *testing.T, f func()) {
	t.Helper()
	for i := 0; i < 10; i++ {
		f()
	}
	if avg := testing.AllocsPerRun(200, f); avg != 0 {
		t.Errorf("%v allocations per call, want 0", avg)
	}
}

// discardAsync reads r to EOF without allocating per read.
func discardAsync(r io.Reader) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 256<<10)
		for {
			if _, err := r.Read(buf); err != nil {
				return
			}
		}
	}()
	return done
}

// writeForever writes data to c over and over until stop is called.
func writeForever(c io.WriteCloser, data []byte) (stop func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if _, err := c.Write(data); err != nil {
				return
			}
		}
	}()
	return func() { c.Close(); <-done }
}
