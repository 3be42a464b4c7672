//go:build linux

package core

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Streams in motion: input a byte at a time, output limits and bombs, peers
// that go away, waiting in the poller, blocking descriptors, levels.

// TestZlibByteAtATime feeds compressed data (and, to compress, plain data)
// one byte per write through a *Pipe and a TCP socket: every byte must come
// out, whatever the reads look like (Polyphony took a short read for the
// end of input).
func TestZlibByteAtATime(t *testing.T) {
	data := zData(3000)
	type feed struct {
		name string
		open func(t *testing.T, b []byte) io.Reader
	}
	feeds := []feed{
		{"pipe", func(t *testing.T, b []byte) io.Reader {
			p := newTestPipe(t)
			trickle(t, p, b, func() { p.CloseWrite() })
			return p
		}},
		{"tcp", func(t *testing.T, b []byte) io.Reader {
			c, s := tcpPair(t)
			c.SetNoDelay(true)
			trickle(t, c, b, func() { c.CloseWrite() })
			return s
		}},
	}
	for _, f := range zFormats {
		comp := f.refComp(t, data)
		for _, fd := range feeds {
			for _, dk := range zDstKinds[:1+6] { // file and bytes.Buffer ends
				if dk.name != "file" && dk.name != "bytes.Buffer" {
					continue
				}
				t.Run(f.name+"/"+fd.name+"->"+dk.name, func(t *testing.T) {
					dst, finish := dk.open(t)
					n, err := f.expand(dst, fd.open(t, comp))
					got := finish()
					if err != nil || n != int64(len(data)) || !bytes.Equal(got, data) {
						t.Fatalf("expand = %d, %v; want %d bytes", n, err, len(data))
					}
					dst, finish = dk.open(t)
					n, err = f.compress(dst, fd.open(t, data))
					got = finish()
					if err != nil || n != int64(len(got)) {
						t.Fatalf("compress = %d, %v", n, err)
					}
					if out, err := f.refExp(got); err != nil || !bytes.Equal(out, data) {
						t.Fatalf("reference decoder of compress: %d bytes, %v", len(out), err)
					}
				})
			}
		}
	}
}

// TestGunzipDeliversBeforeWaiting checks that output reaches a socket
// before Gunzip waits for more input: a peer that answers only after it
// has the first member's data must not deadlock.
func TestGunzipDeliversBeforeWaiting(t *testing.T) {
	in, inPeer := tcpPair(t)
	out, outPeer := tcpPair(t)
	first := refGzip(t, []byte("question?"), nil)
	second := refGzip(t, []byte("thanks"), nil)
	done := make(chan error, 1)
	go func() {
		_, err := Gunzip(out, in, nil)
		done <- err
	}()
	inPeer.Write(first)
	outPeer.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 9)
	if _, err := io.ReadFull(outPeer, buf); err != nil || string(buf) != "question?" {
		t.Fatalf("the first member's data did not arrive while the stream stayed open: %q, %v", buf, err)
	}
	inPeer.Write(second)
	inPeer.CloseWrite()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	out.CloseWrite()
	rest, err := io.ReadAll(outPeer)
	if err != nil || string(rest) != "thanks" {
		t.Fatalf("then %q, %v", rest, err)
	}
}

// TestCodecMaxOutput checks the exact boundary, with descriptors and with
// memory on the output side.
func TestCodecMaxOutput(t *testing.T) {
	const size = 300_000
	data := zData(size)
	for _, f := range zFormats {
		comp := f.refComp(t, data)
		expand := func(max int64, toFile bool) (int64, []byte, error) {
			c := Codec{MaxOutput: max}
			do := c.Inflate
			if f.name == "gzip" {
				do = func(dst io.Writer, src io.Reader) (int64, error) { return c.Gunzip(dst, src, nil) }
			}
			if toFile {
				dst := tempFileRW(t)
				n, err := do(dst, tempFileWith(t, comp))
				return n, fileContents(t, dst), err
			}
			var buf bytes.Buffer
			n, err := do(&buf, bytes.NewReader(comp))
			return n, buf.Bytes(), err
		}
		for _, toFile := range []bool{false, true} {
			for _, max := range []int64{size, size + 1, 0} {
				if n, got, err := expand(max, toFile); err != nil || n != size || !bytes.Equal(got, data) {
					t.Fatalf("%s file=%v: MaxOutput %d: %d (%d written), %v; want all %d", f.name, toFile, max, n, len(got), err, size)
				}
			}
			for _, max := range []int64{size - 1, 1, 1000, 100_000, 150_000} {
				n, got, err := expand(max, toFile)
				if !errors.Is(err, ErrTooLarge) || n != max || !bytes.Equal(got, data[:max]) {
					t.Fatalf("%s file=%v: MaxOutput %d: %d (%d written), %v; want ErrTooLarge, exactly the first %d bytes", f.name, toFile, max, n, len(got), err, max)
				}
			}
		}
	}
}

// zeroReader yields n zero bytes.
type zeroReader struct{ n int64 }

func (z *zeroReader) Read(b []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	m := min(int64(len(b)), z.n)
	clear(b[:m])
	z.n -= m
	return int(m), nil
}

var bombOnce struct {
	sync.Once
	b   []byte
	err error
}

// gzipBomb returns bombSize zeros gzipped, made once by compress/gzip (a
// bomb made by kpipe would test kpipe against itself).
func gzipBomb(t *testing.T) []byte {
	bombOnce.Do(func() {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if _, bombOnce.err = io.Copy(zw, &zeroReader{n: bombSize}); bombOnce.err == nil {
			bombOnce.err = zw.Close()
		}
		bombOnce.b = buf.Bytes()
	})
	if bombOnce.err != nil {
		t.Fatal(bombOnce.err)
	}
	return bombOnce.b
}

// countingWriter counts what it is given.
type countingWriter struct{ n int64 }

func (c *countingWriter) Write(b []byte) (int, error) { c.n += int64(len(b)); return len(b), nil }

// bombSize is what the test's decompression bomb expands to: 256 MiB of
// zeros, from about 256 KB.
const bombSize = 256 << 20

// TestGunzipBomb stops 256 MiB of zeros at a 10 MiB limit quickly, having
// written exactly the limit, into a file and into a writer.
func TestGunzipBomb(t *testing.T) {
	bomb := gzipBomb(t)
	if len(bomb) > bombSize/512 {
		t.Fatalf("%d bytes of zeros compressed to %d bytes", bombSize, len(bomb))
	}
	const limit = 10 << 20
	c := Codec{MaxOutput: limit}
	dst := tempFileRW(t)
	n, err := c.Gunzip(dst, tempFileWith(t, bomb), nil)
	if !errors.Is(err, ErrTooLarge) || n != limit {
		t.Fatalf("Gunzip of the bomb into a file = %d, %v; want ErrTooLarge, exactly %d", n, err, limit)
	}
	if fi, _ := dst.Stat(); fi.Size() != n {
		t.Fatalf("the file holds %d bytes, Gunzip said %d", fi.Size(), n)
	}
	var w countingWriter
	n, err = c.Gunzip(&w, bytes.NewReader(bomb), nil)
	if !errors.Is(err, ErrTooLarge) || n != limit || w.n != n {
		t.Fatalf("Gunzip of the bomb into a writer = %d (%d written), %v", n, w.n, err)
	}
	// Without a limit it is all there.
	w.n = 0
	if n, err := Gunzip(&w, bytes.NewReader(bomb), nil); err != nil || n != bombSize || w.n != n {
		t.Fatalf("Gunzip of the bomb without a limit = %d, %v", n, err)
	}
}

// TestZlibPeerGone: a destination socket whose peer is gone is an error
// wrapping EPIPE or ECONNRESET (and no SIGPIPE death), from descriptors and
// from memory; a source that ends mid-stream is io.ErrUnexpectedEOF.
func TestZlibPeerGone(t *testing.T) {
	const size = 4 << 20
	data := zData(size)
	comp := refCompressed(t, zFormats[0], size)
	for _, reset := range []bool{false, true} {
		dead := deadTCPConn(t, reset)
		if _, err := Gunzip(dead, tempFileWith(t, comp), nil); !isPeerGone(err) {
			t.Errorf("Gunzip file->dead (reset %v): %v", reset, err)
		}
		var se *os.SyscallError
		if _, err := Gzip(dead, bytes.NewReader(data), nil); !isPeerGone(err) || !errors.As(err, &se) || se.Syscall != "write" {
			t.Errorf("Gzip bytes->dead (reset %v): %v; want a write error", reset, err)
		}
		if _, err := Deflate(tcpWrapper{dead}, tempFileWith(t, data)); !isPeerGone(err) {
			t.Errorf("Deflate file->dead conn (reset %v): %v", reset, err)
		}
	}
	// The peer closes the write end of a pipe after half the stream.
	for _, f := range zFormats {
		comp := refCompressed(t, f, size)
		p := newTestPipe(t)
		go func() {
			p.Write(comp[:len(comp)/2])
			p.CloseWrite()
		}()
		if n, err := f.expand(io.Discard, p); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%s: source closed mid-stream: %d, %v", f.name, n, err)
		}
		c, s := tcpPair(t)
		go func() {
			c.Write(comp[:len(comp)/3])
			c.Close()
		}()
		if n, err := f.expand(tempFileRW(t), s); !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("%s: socket closed mid-stream: %d, %v", f.name, n, err)
		}
	}
}

// TestZlibWaitsInPoller starts Gunzips on idle sockets: they park in the
// runtime poller (no thread each), honour the read deadline and end with
// the connection's close.
func TestZlibWaitsInPoller(t *testing.T) {
	const n = 40
	threads := osThreads(t)
	errs := make(chan error, n)
	conns := make([]*net.TCPConn, n)
	ln := tcpListener(t)
	for i := range conns {
		c, s := tcpPairOn(t, ln)
		conns[i] = c
		// Half of them with a header already there.
		if i%2 == 0 {
			c.Write(refGzip(t, []byte("x"), nil)[:12])
		}
		if i%4 == 1 {
			s.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		}
		go func() {
			dst := tempFileRW(t)
			_, err := Gunzip(dst, s, nil)
			errs <- err
		}()
	}
	waitParked(t, n*3/4, "core.Gunzip(")
	if d := osThreads(t) - threads; d > n/4 {
		t.Errorf("%d idle Gunzips added %d threads", n, d)
	}
	// The ones with a deadline end first, by it.
	for i := 0; i < n/4; i++ {
		if err := <-errs; !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("Gunzip with a read deadline: %v, want os.ErrDeadlineExceeded", err)
		}
	}
	for _, c := range conns {
		c.Close()
	}
	for i := n / 4; i < n; i++ {
		if err := <-errs; !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("Gunzip on a connection closed by its peer: %v, want io.ErrUnexpectedEOF", err)
		}
	}
}

// TestZlibBlockingFDs runs streams whose descriptors are in blocking mode
// (as a program's standard input and output usually are): they block as a
// read would, and deliver everything.
func TestZlibBlockingFDs(t *testing.T) {
	data := zData(1<<20 + 7)
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	r := os.NewFile(uintptr(fds[0]), "blocking-r")
	w := os.NewFile(uintptr(fds[1]), "blocking-w")
	defer r.Close()
	if fl, _ := fdFlags(t, r); fl&syscall.O_NONBLOCK != 0 {
		t.Fatal("the pipe is non-blocking")
	}
	go func() {
		Gzip(w, bytes.NewReader(data), nil)
		w.Close()
	}()
	var out bytes.Buffer
	if n, err := Gunzip(&out, r, nil); err != nil || n != int64(len(data)) || !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("Gunzip from a blocking pipe = %d, %v", n, err)
	}
}

// TestCodecLevels checks every level round-trips, that level 9 beats level
// 1, and that other levels are refused before anything moves.
func TestCodecLevels(t *testing.T) {
	data := zData(200_000)
	sizes := map[int]int{}
	for _, level := range []int{-2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9} {
		var buf bytes.Buffer
		n, err := Codec{Level: level}.Gzip(&buf, bytes.NewReader(data), nil)
		if err != nil || n != int64(buf.Len()) {
			t.Fatalf("level %d: %d, %v", level, n, err)
		}
		if out, _, err := refGunzip(buf.Bytes()); err != nil || !bytes.Equal(out, data) {
			t.Fatalf("level %d: compress/gzip: %v", level, err)
		}
		sizes[level] = buf.Len()
	}
	if sizes[9] >= sizes[1] || sizes[0] != sizes[6] || sizes[-1] != sizes[6] || sizes[-2] <= sizes[1] {
		t.Fatalf("compressed sizes by level: %v", sizes)
	}
	for _, level := range []int{-3, 10, 100} {
		src := bytes.NewReader(data)
		var buf bytes.Buffer
		if n, err := (Codec{Level: level}).Deflate(&buf, src); err == nil || n != 0 || buf.Len() != 0 || src.Len() != len(data) {
			t.Fatalf("level %d: %d, %v", level, n, err)
		}
	}
}

// TestZlibSourcesAdvance checks that in-memory sources are consumed as
// io.Copy would consume them.
func TestZlibSourcesAdvance(t *testing.T) {
	comp := refGzip(t, []byte("abc"), nil)
	br := bytes.NewReader(comp)
	bb := bytes.NewBuffer(append([]byte(nil), comp...))
	for _, src := range []interface {
		io.Reader
		Len() int
	}{br, bb} {
		if _, err := Gunzip(io.Discard, src, nil); err != nil || src.Len() != 0 {
			t.Fatalf("%T: %v, %d bytes left", src, err, src.Len())
		}
	}
}

// trickle writes b to w one byte at a time, yielding between bytes
// and sleeping now and then so that the reader sees tiny reads, then calls
// closeFn. It returns a function that waits for it.
func trickle(t testing.TB, w io.Writer, b []byte, closeFn func()) func() error {
	ch := make(chan error, 1)
	go func() {
		var err error
		for i := range b {
			if _, err = w.Write(b[i : i+1]); err != nil {
				break
			}
			if i%64 == 63 {
				time.Sleep(100 * time.Microsecond)
			} else {
				runtime.Gosched()
			}
		}
		closeFn()
		ch <- err
	}()
	var once sync.Once
	var err error
	wait := func() error {
		once.Do(func() { err = <-ch })
		return err
	}
	t.Cleanup(func() { wait() })
	return wait
}
