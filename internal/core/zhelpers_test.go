//go:build linux

package core

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"io"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

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
