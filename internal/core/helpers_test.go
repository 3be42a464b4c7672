//go:build linux

package core

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Shared helpers of the behaviour tests. Everything here works on real
// kernel objects: temporary files, kernel pipes, loopback TCP and Unix
// stream sockets.

// testSizes are the transfer sizes every endpoint pair is tried with.
var testSizes = []int{0, 1, 65535, 1<<20 + 7, 24 << 20}

// bigSizeMin is the size above which a transfer is big enough that tests
// run it only for the pairs in bigPairs: one per method of moving data,
// where many refills of pipes and socket buffers, pipe growth and the
// largest steps come into play. The other pairs would only cost time.
const bigSizeMin = 2 << 20

var bigPairs = map[string]bool{
	"Copy/file->file":   true, // copy_file_range
	"Copy/file->tcp":    true, // sendfile, waiting on the socket
	"Copy/tcp->file":    true, // splice through a growing pooled pipe
	"Copy/tcp->pipe":    true, // splice into a *Pipe
	"Copy/pipe->tcp":    true, // splice out of a *Pipe
	"Copy/ospipe->unix": true, // splice out of an os.Pipe
	"Splice/file->pipe": true,
	"Splice/pipe->tcp":  true,
	"Splice/unix->pipe": true,
}

// runSize reports whether test ("Copy" or "Splice") tries the pair at size.
func runSize(test string, src, dst string, size int) bool {
	return size <= bigSizeMin || bigPairs[test+"/"+src+"->"+dst]
}

var testSumCache sync.Map // sumKey -> [sha256.Size]byte

type sumKey struct {
	p *byte
	n int
}

// dataSum returns the SHA-256 of data, remembering the sums of the large
// shared slices of testData.
func dataSum(data []byte) [sha256.Size]byte {
	if len(data) < 1<<20 {
		return sha256.Sum256(data)
	}
	k := sumKey{&data[0], len(data)}
	if v, ok := testSumCache.Load(k); ok {
		return v.([sha256.Size]byte)
	}
	s := sha256.Sum256(data)
	testSumCache.Store(k, s)
	return s
}

// sumString is a short printable form of a SHA-256 sum.
func sumString(s [sha256.Size]byte) string { return fmt.Sprintf("%x", s[:8]) }

// tempFileRW creates an empty file opened for reading and writing.
func tempFileRW(t testing.TB) *os.File {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(t.TempDir(), "dst"), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// fileContents reads a file's whole contents through its path, leaving its
// offset alone.
func fileContents(t testing.TB, f *os.File) []byte {
	t.Helper()
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hashFile hashes a file's whole contents through its path, leaving its
// offset alone.
func hashFile(t testing.TB, f *os.File) hashResult {
	t.Helper()
	g, err := os.Open(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, struct{ io.Reader }{g}, make([]byte, 64<<10))
	res := hashResult{n: n, err: err}
	copy(res.sum[:], h.Sum(nil))
	return res
}

// fileOffset returns f's current offset.
func fileOffset(t testing.TB, f *os.File) int64 {
	t.Helper()
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		t.Fatal(err)
	}
	return off
}

// newTestPipe opens a *Pipe closed at the end of the test.
func newTestPipe(t testing.TB) *Pipe {
	t.Helper()
	p, err := NewPipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// osPipe opens a pipe with os.Pipe (non-blocking, in Go's poller).
func osPipe(t testing.TB) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

// unixPair returns both ends of a Unix stream socket pair.
func unixPair(t testing.TB) (a, b *net.UnixConn) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	conv := func(fd int) *net.UnixConn {
		f := os.NewFile(uintptr(fd), "socketpair")
		defer f.Close()
		c, err := net.FileConn(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c.(*net.UnixConn)
	}
	return conv(fds[0]), conv(fds[1])
}

// deadTCPConn returns a connected socket whose peer has closed (reset when
// reset is true), with the peer's close already seen by the kernel.
func deadTCPConn(t testing.TB, reset bool) *net.TCPConn {
	t.Helper()
	client, server := tcpPair(t)
	if reset {
		if err := server.SetLinger(0); err != nil {
			t.Fatal(err)
		}
	}
	server.Close()
	// Wait for the FIN or RST to arrive so that the state is settled.
	client.SetReadDeadline(time.Now().Add(10 * time.Second))
	var b [1]byte
	if _, err := client.Read(b[:]); err == nil {
		t.Fatal("read from a connection whose peer closed returned data")
	}
	client.SetReadDeadline(time.Time{})
	return client
}

// tcpWrapper hides a *net.TCPConn's type so that kpipe sees a plain
// syscall.Conn.
type tcpWrapper struct{ *net.TCPConn }

// fdFlags returns the F_GETFL and F_GETFD flags of the descriptor behind sc.
func fdFlags(t testing.TB, sc syscall.Conn) (fl, fdfl int) {
	t.Helper()
	rc, err := sc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var ferr error
	err = rc.Control(func(fd uintptr) {
		fl, ferr = unix.FcntlInt(fd, unix.F_GETFL, 0)
		if ferr == nil {
			fdfl, ferr = unix.FcntlInt(fd, unix.F_GETFD, 0)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if ferr != nil {
		t.Fatal(ferr)
	}
	return fl, fdfl
}

// requireNonblock fails the test unless the descriptor behind sc is still in
// non-blocking mode.
func requireNonblock(t testing.TB, what string, sc syscall.Conn) {
	t.Helper()
	if fl, _ := fdFlags(t, sc); fl&unix.O_NONBLOCK == 0 {
		t.Errorf("%s: O_NONBLOCK was cleared", what)
	}
}

// countDir returns the number of entries in a /proc directory.
func countDir(t testing.TB, dir string) int {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// openFDs returns the number of open descriptors, after closing the idle
// pooled pipes so that the count does not depend on the pool's state.
func openFDs(t testing.TB) int {
	t.Helper()
	drainPipePool()
	return countDir(t, "/proc/self/fd")
}

// osThreads returns the number of OS threads of the process.
func osThreads(t testing.TB) int {
	t.Helper()
	return countDir(t, "/proc/self/task")
}

// hashResult is what a draining goroutine saw.
type hashResult struct {
	sum [sha256.Size]byte
	n   int64
	err error
}

// drainAsync reads r to EOF in a goroutine and reports the SHA-256 of what it
// read.
func drainAsync(r io.Reader) <-chan hashResult {
	ch := make(chan hashResult, 1)
	go func() {
		h := sha256.New()
		buf := make([]byte, 64<<10)
		n, err := io.CopyBuffer(h, struct{ io.Reader }{r}, buf)
		var res hashResult
		copy(res.sum[:], h.Sum(nil))
		res.n, res.err = n, err
		ch <- res
	}()
	return ch
}

// feedAsync writes data to w in a goroutine, then calls closeFn. The test's
// cleanup aborts it with abort (which must unblock the write) and waits for
// it, so that no goroutine outlives the test.
func feedAsync(t testing.TB, w io.Writer, data []byte, closeFn, abort func()) (wait func() error) {
	ch := make(chan error, 1)
	go func() {
		_, err := w.Write(data)
		closeFn()
		ch <- err
	}()
	var once sync.Once
	var err error
	wait = func() error {
		once.Do(func() { err = <-ch })
		return err
	}
	t.Cleanup(func() { abort(); wait() })
	return wait
}

// srcKind makes a source endpoint that yields data and then end of input.
type srcKind struct {
	name string
	fd   bool // has a file descriptor
	pipe bool // is a *Pipe
	// open returns the source and a function that waits for whatever feeds
	// it and reports the feeder's error.
	open func(t *testing.T, data []byte) (io.Reader, func() error)
}

func noWait() error { return nil }

var srcKinds = []srcKind{
	{"file", true, false, func(t *testing.T, data []byte) (io.Reader, func() error) {
		return tempFileWith(t, data), noWait
	}},
	{"pipe", true, true, func(t *testing.T, data []byte) (io.Reader, func() error) {
		p := newTestPipe(t)
		wait := feedAsync(t, p, data, func() { p.CloseWrite() }, func() { p.Close() })
		return p, wait
	}},
	{"ospipe", true, false, func(t *testing.T, data []byte) (io.Reader, func() error) {
		r, w := osPipe(t)
		wait := feedAsync(t, w, data, func() { w.Close() }, func() { r.Close() })
		return r, wait
	}},
	{"tcp", true, false, func(t *testing.T, data []byte) (io.Reader, func() error) {
		c, s := tcpPair(t)
		wait := feedAsync(t, c, data, func() { c.CloseWrite() }, func() { c.Close() })
		return s, wait
	}},
	{"conn", true, false, func(t *testing.T, data []byte) (io.Reader, func() error) {
		c, s := tcpPair(t)
		wait := feedAsync(t, c, data, func() { c.CloseWrite() }, func() { c.Close() })
		return tcpWrapper{s}, wait
	}},
	{"unix", true, false, func(t *testing.T, data []byte) (io.Reader, func() error) {
		a, b := unixPair(t)
		wait := feedAsync(t, a, data, func() { a.CloseWrite() }, func() { a.Close() })
		return b, wait
	}},
	{"bytes.Reader", false, false, func(t *testing.T, data []byte) (io.Reader, func() error) {
		return bytes.NewReader(data), noWait
	}},
	{"bytes.Buffer", false, false, func(t *testing.T, data []byte) (io.Reader, func() error) {
		// Reading a Buffer leaves its bytes alone, and data is full to
		// capacity: a write would reallocate. Sharing data is safe.
		return bytes.NewBuffer(data), noWait
	}},
}

// dstKind makes a destination endpoint. finish ends the transfer (closing
// the write side of streams) and reports what arrived.
type dstKind struct {
	name string
	fd   bool
	pipe bool
	open func(t *testing.T) (io.Writer, func() hashResult)
}

// streamSink returns a finish function for a stream whose far end r is
// drained in a goroutine and whose near end is closed for writing by
// closeWrite.
func streamSink(t *testing.T, r io.Reader, closeWrite, abort func()) func() hashResult {
	ch := drainAsync(r)
	var once sync.Once
	var res hashResult
	wait := func() hashResult {
		once.Do(func() { res = <-ch })
		return res
	}
	t.Cleanup(func() { abort(); wait() })
	return func() hashResult {
		closeWrite()
		return wait()
	}
}

var dstKinds = []dstKind{
	{"file", true, false, func(t *testing.T) (io.Writer, func() hashResult) {
		f := tempFileRW(t)
		return f, func() hashResult { return hashFile(t, f) }
	}},
	{"pipe", true, true, func(t *testing.T) (io.Writer, func() hashResult) {
		p := newTestPipe(t)
		return p, streamSink(t, p, func() { p.CloseWrite() }, func() { p.Close() })
	}},
	{"ospipe", true, false, func(t *testing.T) (io.Writer, func() hashResult) {
		r, w := osPipe(t)
		return w, streamSink(t, r, func() { w.Close() }, func() { r.Close(); w.Close() })
	}},
	{"tcp", true, false, func(t *testing.T) (io.Writer, func() hashResult) {
		c, s := tcpPair(t)
		return c, streamSink(t, s, func() { c.CloseWrite() }, func() { s.Close(); c.Close() })
	}},
	{"conn", true, false, func(t *testing.T) (io.Writer, func() hashResult) {
		c, s := tcpPair(t)
		return tcpWrapper{c}, streamSink(t, s, func() { c.CloseWrite() }, func() { s.Close(); c.Close() })
	}},
	{"unix", true, false, func(t *testing.T) (io.Writer, func() hashResult) {
		a, b := unixPair(t)
		return a, streamSink(t, b, func() { a.CloseWrite() }, func() { b.Close(); a.Close() })
	}},
	{"bytes.Buffer", false, false, func(t *testing.T) (io.Writer, func() hashResult) {
		var buf bytes.Buffer
		return &buf, func() hashResult {
			return hashResult{sum: sha256.Sum256(buf.Bytes()), n: int64(buf.Len())}
		}
	}},
}

// transferMatrix runs op, one subtest "SRC->DST/SIZE" each, from every
// source kind to every destination kind that keep accepts (keep nil: all),
// with every size of testSizes that runSize lets test run, and checks that
// op moved the size without an error, that the source's feeder succeeded
// and what arrived, by its SHA-256.
func transferMatrix(t *testing.T, test string, keep func(srcKind, dstKind) bool,
	op func(t *testing.T, sk srcKind, dk dstKind, dst io.Writer, src io.Reader) (int64, error)) {
	for _, sk := range srcKinds {
		for _, dk := range dstKinds {
			if keep != nil && !keep(sk, dk) {
				continue
			}
			for _, size := range testSizes {
				if !runSize(test, sk.name, dk.name, size) {
					continue
				}
				t.Run(fmt.Sprintf("%s->%s/%d", sk.name, dk.name, size), func(t *testing.T) {
					data := testData(size)
					src, srcWait := sk.open(t, data)
					dst, finish := dk.open(t)
					n, err := op(t, sk, dk, dst, src)
					if err != nil {
						t.Fatalf("%s: %v", test, err)
					}
					if n != int64(size) {
						t.Fatalf("%s returned %d, want %d", test, n, size)
					}
					if err := srcWait(); err != nil {
						t.Fatalf("feeding the source: %v", err)
					}
					checkArrived(t, finish(), data)
				})
			}
		}
	}
}

// spliceSteps calls Splice(dst, src, step) until end of input and checks
// that no call fails or moves more than step bytes, and that the calls
// moved want bytes in all.
func spliceSteps(t *testing.T, dst io.Writer, src io.Reader, step, want int64) {
	t.Helper()
	var total int64
	for {
		n, err := Splice(dst, src, step)
		if err != nil {
			t.Fatalf("Splice after %d bytes: %v", total, err)
		}
		if n < 0 || n > step {
			t.Fatalf("Splice(%d) moved %d", step, n)
		}
		if n == 0 {
			break
		}
		total += n
	}
	if total != want {
		t.Fatalf("moved %d bytes in steps, want %d", total, want)
	}
}

// checkArrived compares what a destination received with data.
func checkArrived(t *testing.T, got hashResult, data []byte) {
	t.Helper()
	if got.err != nil {
		t.Fatalf("receiver: %v", got.err)
	}
	if got.n != int64(len(data)) {
		t.Fatalf("receiver got %d bytes, want %d", got.n, len(data))
	}
	if want := dataSum(data); got.sum != want {
		t.Fatalf("receiver got sha256 %s, want %s", sumString(got.sum), sumString(want))
	}
}

// isPeerGone reports whether err is what writing to a vanished peer gives.
func isPeerGone(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}

// newCheckedEngine returns NewEngine(cfg), failing the test if that fails
// or if the engine is not on the backend cfg must give (see wantBackend).
// The caller closes it.
func newCheckedEngine(t *testing.T, cfg Config) *Engine {
	t.Helper()
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.Backend(), wantBackend(cfg); got != want {
		e.Close()
		t.Fatalf("NewEngine(%+v).Backend() = %q, want %q", cfg, got, want)
	}
	return e
}

// feedForever writes chunk to c again and again, each write bounded by a
// short deadline so that a destination that takes nothing holds it up only
// briefly, until the function it returns is called; that function returns
// once the writing has stopped.
func feedForever(c *net.TCPConn, chunk []byte) (stop func()) {
	stopc := make(chan struct{})
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		for {
			select {
			case <-stopc:
				return
			default:
			}
			c.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
			c.Write(chunk)
		}
	}()
	return func() {
		close(stopc)
		<-fed
	}
}

// checkIdleThreads waits until n goroutines are parked in kpipe's function
// fn (Copy, Splice) and checks that the process then has at most 8 more OS
// threads than the before it counted.
func checkIdleThreads(t *testing.T, before, n int, fn string) {
	t.Helper()
	waitParked(t, n, "core."+fn)
	// Give any thread a blocked call might start time to show up.
	time.Sleep(100 * time.Millisecond)
	after := osThreads(t)
	t.Logf("OS threads: %d before, %d with %d %s calls parked", before, after, n, fn)
	if after > before+8 {
		t.Fatalf("%d idle %s calls: %d OS threads before, %d after", n, fn, before, after)
	}
}

// waitParked waits until at least n goroutines are parked in the runtime
// poller inside a function whose name contains fn.
func waitParked(t testing.TB, n int, fn string) {
	t.Helper()
	buf := make([]byte, 8<<20)
	deadline := time.Now().Add(30 * time.Second)
	for {
		m := runtime.Stack(buf, true)
		parked := 0
		for _, g := range strings.Split(string(buf[:m]), "\n\n") {
			if strings.Contains(g, "[IO wait") && strings.Contains(g, fn) {
				parked++
			}
		}
		if parked >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d goroutines parked in %s", parked, n, fn)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// forcePollFromEnv reports whether KPIPE_BACKEND=poll is set.
func forcePollFromEnv() bool {
	return backendFromEnv() == BackendPoll
}

// waitResult waits for the result of a transfer running in another
// goroutine, failing the test after limit.
func waitResult[T any](t *testing.T, ch <-chan T, limit time.Duration) T {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(limit):
		t.Fatalf("transfer still running after %v", limit)
	}
	panic("unreachable")
}

// Helpers of the compression tests: compressible data, reference encoders
// and decoders (compress/gzip, compress/zlib), and endpoint kinds that hand
// back the bytes they received.

// zTestSizes are the sizes every endpoint pair is tried with; zBigSize is
// tried on one pair per direction.
var zTestSizes = []int{0, 1, 64<<10 - 1, 1<<20 + 7}

// zBigSize is many socket buffers, so that the C loop waits often. It runs
// without quickSizes only: the race detector makes the reference codec
// that checks the result (compress/gzip) slower by ten times or more.
const zBigSize = 24 << 20

var zDataCache sync.Map // int -> []byte

// zData returns size bytes of deterministic data that compresses about
// twofold, and fast: 1 KiB blocks of noise and repeats of earlier blocks
// (long matches, so that inflating produces bursts of output much larger
// than its input). The slice is shared: never modify it.
func zData(size int) []byte {
	if v, ok := zDataCache.Load(size); ok {
		return v.([]byte)
	}
	const block = 1 << 10
	b := make([]byte, 0, size+block)
	x := uint64(size)*0x9E3779B97F4A7C15 + 1
	next := func() uint64 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		return x
	}
	for len(b) < size {
		if r := next(); r%2 == 0 && len(b) >= block {
			back := int(r>>8)%min(len(b)/block, 16) + 1
			start := len(b) - back*block
			b = append(b, b[start:start+block]...)
			continue
		}
		for i := 0; i < block; i += 8 {
			b = binary.LittleEndian.AppendUint64(b, next())
		}
	}
	b = b[:size:size]
	v, _ := zDataCache.LoadOrStore(size, b)
	return v.([]byte)
}

// refLevel is the level of the reference compressions: the fastest for
// large inputs, whose compression only serves as test input.
func refLevel(size int) int {
	if size > 64<<10 {
		return gzip.BestSpeed
	}
	return gzip.DefaultCompression
}

// refGzip compresses data with compress/gzip.
func refGzip(t testing.TB, data []byte, hdr *gzip.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, refLevel(len(data)))
	if hdr != nil {
		zw.Header = *hdr
	}
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// refZlib compresses data with compress/zlib.
func refZlib(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&buf, refLevel(len(data)))
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// refGunzip decompresses with compress/gzip (all members) and returns the
// first member's header.
func refGunzip(comp []byte) ([]byte, gzip.Header, error) {
	zr, err := gzip.NewReader(bytes.NewReader(comp))
	if err != nil {
		return nil, gzip.Header{}, err
	}
	out, err := io.ReadAll(zr)
	return out, zr.Header, err
}

// refInflate decompresses with compress/zlib.
func refInflate(comp []byte) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(comp))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

// zFormatCase is one of the two formats with its reference implementation.
type zFormatCase struct {
	name     string
	compress func(dst io.Writer, src io.Reader) (int64, error)
	codec    func(c Codec, dst io.Writer, src io.Reader) (int64, error)
	expand   func(dst io.Writer, src io.Reader) (int64, error)
	refComp  func(t testing.TB, data []byte) []byte
	refExp   func(comp []byte) ([]byte, error)
}

var zFormats = []zFormatCase{
	{
		name:     "gzip",
		compress: func(dst io.Writer, src io.Reader) (int64, error) { return Gzip(dst, src, nil) },
		codec: func(c Codec, dst io.Writer, src io.Reader) (int64, error) {
			return c.Gzip(dst, src, nil)
		},
		expand:  func(dst io.Writer, src io.Reader) (int64, error) { return Gunzip(dst, src, nil) },
		refComp: func(t testing.TB, data []byte) []byte { return refGzip(t, data, nil) },
		refExp: func(comp []byte) ([]byte, error) {
			out, _, err := refGunzip(comp)
			return out, err
		},
	},
	{
		name:     "zlib",
		compress: Deflate,
		codec:    Codec.Deflate,
		expand:   Inflate,
		refComp:  refZlib,
		refExp:   refInflate,
	},
}

// plainReader and plainWriter hide every method but Read and Write.
type plainReader struct{ r io.Reader }

func (p plainReader) Read(b []byte) (int, error) { return p.r.Read(b) }

type plainWriter struct{ w io.Writer }

func (p plainWriter) Write(b []byte) (int, error) { return p.w.Write(b) }

// zSrcKinds are the source kinds of the compression tests: the package's
// fd and memory kinds plus *strings.Reader and a plain io.Reader.
var zSrcKinds = append(append([]srcKind(nil), srcKinds...),
	srcKind{"strings.Reader", false, false, func(t *testing.T, data []byte) (io.Reader, func() error) {
		return strings.NewReader(string(data)), noWait
	}},
	srcKind{"reader", false, false, func(t *testing.T, data []byte) (io.Reader, func() error) {
		return plainReader{bytes.NewReader(data)}, noWait
	}},
)

// zDstKind is a destination that hands back what it received.
type zDstKind struct {
	name string
	open func(t *testing.T) (io.Writer, func() []byte)
}

// collectSink reads r to EOF in a goroutine; finish calls closeWrite and
// returns what arrived.
func collectSink(t *testing.T, r io.Reader, closeWrite, abort func()) func() []byte {
	ch := make(chan []byte, 1)
	go func() {
		var buf bytes.Buffer
		_, err := buf.ReadFrom(r)
		if err != nil {
			t.Errorf("receiver: %v", err)
		}
		ch <- buf.Bytes()
	}()
	var once sync.Once
	var got []byte
	wait := func() []byte {
		once.Do(func() { got = <-ch })
		return got
	}
	t.Cleanup(func() { abort(); wait() })
	return func() []byte {
		closeWrite()
		return wait()
	}
}

var zDstKinds = []zDstKind{
	{"file", func(t *testing.T) (io.Writer, func() []byte) {
		f := tempFileRW(t)
		return f, func() []byte { return fileContents(t, f) }
	}},
	{"pipe", func(t *testing.T) (io.Writer, func() []byte) {
		p := newTestPipe(t)
		return p, collectSink(t, p, func() { p.CloseWrite() }, func() { p.Close() })
	}},
	{"ospipe", func(t *testing.T) (io.Writer, func() []byte) {
		r, w := osPipe(t)
		return w, collectSink(t, r, func() { w.Close() }, func() { r.Close(); w.Close() })
	}},
	{"tcp", func(t *testing.T) (io.Writer, func() []byte) {
		c, s := tcpPair(t)
		return c, collectSink(t, s, func() { c.CloseWrite() }, func() { s.Close(); c.Close() })
	}},
	{"conn", func(t *testing.T) (io.Writer, func() []byte) {
		c, s := tcpPair(t)
		return tcpWrapper{c}, collectSink(t, s, func() { c.CloseWrite() }, func() { s.Close(); c.Close() })
	}},
	{"unix", func(t *testing.T) (io.Writer, func() []byte) {
		a, b := unixPair(t)
		return a, collectSink(t, b, func() { a.CloseWrite() }, func() { b.Close(); a.Close() })
	}},
	{"bytes.Buffer", func(t *testing.T) (io.Writer, func() []byte) {
		var buf bytes.Buffer
		return &buf, func() []byte { return buf.Bytes() }
	}},
	{"writer", func(t *testing.T) (io.Writer, func() []byte) {
		var buf bytes.Buffer
		return plainWriter{&buf}, func() []byte { return buf.Bytes() }
	}},
}

// needGzipCommand returns the path of gzip(1), failing the test when it is
// missing.
func needGzipCommand(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("gzip")
	if err != nil {
		t.Fatalf("gzip(1) is not installed: %v", err)
	}
	return path
}

// Helpers of the fault-injection tests: re-running a test in a child
// process (for process-wide faults: resource limits, seccomp filters,
// credentials, signals) and reading the process's memory and thread counts.

// faultChildEnv names the test that a re-executed test binary runs as the
// child of that same test.
const faultChildEnv = "KPIPE_FAULT_CHILD"

// inFaultChild reports whether this process is the child started by
// runFaultChild for t.
func inFaultChild(t *testing.T) bool {
	return os.Getenv(faultChildEnv) == t.Name()
}

// childEnv returns the environment with the variables of extra ("K=V")
// replacing those of the same name.
func childEnv(extra ...string) []string {
	drop := map[string]bool{}
	for _, kv := range extra {
		k, _, _ := strings.Cut(kv, "=")
		drop[k] = true
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// faultChild describes how runFaultChild starts the child.
type faultChild struct {
	binary string               // the test binary; os.Args[0] when empty
	dir    string               // its working directory; ours when empty
	env    []string             // "K=V" added to the environment
	attr   *syscall.SysProcAttr // credentials and the like
}

// runFaultChild runs t again in a child process (the test binary with
// -test.run selecting t alone and faultChildEnv naming it) and fails t
// unless the child ran t, passed, and exited with status 0: a child killed
// by a signal (SIGPIPE, ...) fails the test. It returns the child's output.
func runFaultChild(t *testing.T, c faultChild) string {
	t.Helper()
	bin := c.binary
	if bin == "" {
		bin = os.Args[0]
	}
	cmd := exec.Command(bin, "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v", "-test.timeout=10m")
	cmd.Env = childEnv(append([]string{faultChildEnv + "=" + t.Name()}, c.env...)...)
	cmd.SysProcAttr = c.attr
	cmd.Dir = c.dir
	out, err := cmd.CombinedOutput()
	t.Logf("child output:\n%s", out)
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				t.Fatalf("the child died of signal %v", ws.Signal())
			}
		}
		t.Fatalf("the child failed: %v", err)
	}
	if !bytes.Contains(out, []byte("--- PASS: "+t.Name()+" ")) {
		t.Fatalf("the child did not report %s as passed", t.Name())
	}
	return string(out)
}

// procStatusField returns a field of /proc/self/status as a number (VmRSS
// in KiB, Threads, ...).
func procStatusField(field string) (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && k == field {
			v = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB"))
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/self/status has no %s", field)
}

// procStatus is procStatusField failing t on error.
func procStatus(t testing.TB, field string) int64 {
	t.Helper()
	n, err := procStatusField(field)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// rssBytes returns the process's resident set size.
func rssBytes(t testing.TB) int64 { return procStatus(t, "VmRSS") << 10 }

// lazySource generates size bytes of deterministic data on demand, block
// after block, without ever holding more than one block: every block is
// the same noise with its sequence number in its first 8 bytes. It hashes
// what it hands out, and counts it in sent.
type lazySource struct {
	size  int64
	block []byte
	off   int64 // offset in the stream
	sent  atomic.Int64
	hash  [sha256.Size]byte // valid once off == size
	h     hash.Hash
}

const lazyBlock = 256 << 10

func newLazySource(size int64) *lazySource {
	s := &lazySource{size: size, block: bytes.Clone(testData(lazyBlock)), h: sha256.New()}
	return s
}

// Read hands out the next bytes of the stream.
func (s *lazySource) Read(b []byte) (int, error) {
	if s.off >= s.size {
		return 0, io.EOF
	}
	in := int(s.off % lazyBlock)
	if in == 0 {
		binary.LittleEndian.PutUint64(s.block, uint64(s.off/lazyBlock))
	}
	n := copy(b, s.block[in:min(int64(lazyBlock), int64(in)+s.size-s.off)])
	s.h.Write(b[:n])
	s.off += int64(n)
	s.sent.Add(int64(n))
	if s.off == s.size {
		copy(s.hash[:], s.h.Sum(nil))
	}
	return n, nil
}

// waitStalled waits until counter has stopped moving (for 300 ms in a row)
// and returns its value; it fails t if it still moves after a minute.
func waitStalled(t *testing.T, counter func() int64) int64 {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	last, still := counter(), 0
	for still < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("the transfer never stalled: %d bytes and counting", last)
		}
		time.Sleep(100 * time.Millisecond)
		if n := counter(); n != last || n == 0 {
			last, still = n, 0
			continue
		}
		still++
	}
	return last
}

// proxyFunc is Proxy, package-level or an Engine's.
type proxyFunc func(ctx context.Context, a, b io.ReadWriter) (int64, int64, error)

// checkProxy runs proxy between two loopback connections with sizeAB bytes
// going one way and sizeBA the other, and checks the counts, the hashes
// of what arrived, and that proxy returned without error.
func checkProxy(t *testing.T, proxy proxyFunc, sizeAB, sizeBA int) {
	t.Helper()
	aPeer, a := tcpPair(t)
	b, bPeer := tcpPair(t)
	ab, ba := testData(sizeAB), testData(sizeBA)
	type result struct {
		x, y int64
		err  error
	}
	done := make(chan result, 1)
	go func() {
		x, y, err := proxy(context.Background(), a, b)
		done <- result{x, y, err}
	}()
	atB, atA := drainAsync(bPeer), drainAsync(aPeer)
	waitA := feedAsync(t, aPeer, ab, func() { aPeer.CloseWrite() }, func() { aPeer.Close() })
	waitB := feedAsync(t, bPeer, ba, func() { bPeer.CloseWrite() }, func() { bPeer.Close() })
	if err := waitA(); err != nil {
		t.Fatal(err)
	}
	if err := waitB(); err != nil {
		t.Fatal(err)
	}
	checkArrived(t, <-atB, ab)
	checkArrived(t, <-atA, ba)
	r := <-done
	if r.err != nil || r.x != int64(sizeAB) || r.y != int64(sizeBA) {
		t.Fatalf("Proxy = %d, %d, %v; want %d, %d, nil", r.x, r.y, r.err, sizeAB, sizeBA)
	}
}

// doubleSpliceFunc is DoubleSplice, package-level or an Engine's.
type doubleSpliceFunc func(ctx context.Context, dst io.Writer, src io.Reader) (int64, error)

// checkDoubleSplice runs ds from a file of size bytes into a loopback
// connection and checks what arrived.
func checkDoubleSplice(t *testing.T, ds doubleSpliceFunc, size int) {
	t.Helper()
	data := testData(size)
	dst, peer := tcpPair(t)
	arrived := drainAsync(peer)
	n, err := ds(context.Background(), dst, tempFileWith(t, data))
	if err != nil || n != int64(size) {
		t.Fatalf("DoubleSplice = %d, %v; want %d, nil", n, err, size)
	}
	dst.CloseWrite()
	checkArrived(t, <-arrived, data)
}
