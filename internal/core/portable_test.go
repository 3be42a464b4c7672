package core

// The tests in this file use nothing but the API's functions and the
// standard library, so that they run on every platform and in every build
// (Linux with and without cgo, macOS, the BSDs, Windows): the same calls
// must give the same results everywhere. The file also holds the two
// constructors the API has and the core leaves to it (NewPipe,
// Codec.NewGzipWriter), for the tests of every build.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net/http/httputil"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/kpipe/kpipe/internal/testprog"
)

// NewPipe is kpipe.NewPipe, for the tests.
func NewPipe() (*Pipe, error) {
	p := new(Pipe)
	if err := p.Open(); err != nil {
		return nil, err
	}
	return p, nil
}

// NewGzipWriter is kpipe.Codec.NewGzipWriter, for the tests.
func (c Codec) NewGzipWriter(dst io.Writer, hdr *GzipHeader) (*GzipWriter, error) {
	w := new(GzipWriter)
	if err := c.InitGzipWriter(w, dst, hdr); err != nil {
		return nil, err
	}
	return w, nil
}

func TestImplementationMatchesBuild(t *testing.T) {
	impl := Implementation()
	switch {
	case runtime.GOOS != "linux":
		if impl != ImplPortable {
			t.Errorf("Implementation() = %q on %s, want %q", impl, runtime.GOOS, ImplPortable)
		}
	case impl != ImplLinuxCgo && impl != ImplLinuxGo:
		t.Errorf("Implementation() = %q on Linux", impl)
	}
	if (ZlibVersion() != "") != (impl == ImplLinuxCgo) {
		t.Errorf("ZlibVersion() = %q with implementation %q", ZlibVersion(), impl)
	}
	if impl != ImplLinuxCgo && DefaultBackend() != BackendPoll {
		t.Errorf("DefaultBackend() = %q without the C core, want poll", DefaultBackend())
	}
}

// quickSizes reports whether the tests run their reduced sizes: under the
// race detector, which slows each transfer ten times or more, and with
// -short. The same paths are tried; only the largest sizes, and the pairs
// that get them, shrink.
func quickSizes() bool { return testprog.Instrumented || testing.Short() }

var testDataCache sync.Map // int -> []byte

// testData returns size bytes of deterministic pseudo-random data. The slice
// is shared between tests: never modify it.
func testData(size int) []byte {
	if v, ok := testDataCache.Load(size); ok {
		return v.([]byte)
	}
	b := make([]byte, size+8)
	x := uint64(size)*0x9E3779B97F4A7C15 + 0x2545F4914F6CDD1D
	for i := 0; i < size; i += 8 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		binary.LittleEndian.PutUint64(b[i:], x)
	}
	b = b[:size:size]
	v, _ := testDataCache.LoadOrStore(size, b)
	return v.([]byte)
}

// tempFileWith creates a file holding data in t's temporary directory and
// returns it opened read-only at offset 0.
func tempFileWith(t testing.TB, data []byte) *os.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "src")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestPortablePipe(t *testing.T) {
	p, err := NewPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	want := testData(10 << 10)
	go func() {
		p.Write(want)
		p.CloseWrite()
	}()
	got, err := io.ReadAll(p)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes, %v; want %d bytes", len(got), err, len(want))
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestPortableSplice(t *testing.T) {
	p, err := NewPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	f := tempFileWith(t, []byte("spliced"))
	n, err := Splice(p, f, 64)
	if runtime.GOOS != "linux" {
		if !errors.Is(err, errors.ErrUnsupported) || n != 0 {
			t.Errorf("Splice = %d, %v; want errors.ErrUnsupported", n, err)
		}
		if _, err := Tee(p, p, 1); !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("Tee: %v, want errors.ErrUnsupported", err)
		}
		return
	}
	if n != 7 || err != nil {
		t.Fatalf("Splice = %d, %v; want 7, nil", n, err)
	}
	b := make([]byte, 16)
	if m, err := p.Read(b); string(b[:m]) != "spliced" || err != nil {
		t.Errorf("read back %q, %v", b[:m], err)
	}
}

func TestPortableCopyFiles(t *testing.T) {
	want := testData(3<<20 + 17)
	src := tempFileWith(t, want)
	dst, err := os.Create(filepath.Join(t.TempDir(), "copy"))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	lr := &io.LimitedReader{R: src, N: 1 << 20}
	n, err := Copy(dst, lr)
	if n != 1<<20 || err != nil || lr.N != 0 {
		t.Fatalf("Copy of a LimitedReader = %d, %v (N left %d); want %d", n, err, lr.N, 1<<20)
	}
	m, err := Copy(dst, src)
	if n+m != int64(len(want)) || err != nil {
		t.Fatalf("Copy = %d, %v; want %d in all", m, err, len(want))
	}
	got, err := os.ReadFile(dst.Name())
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("copy differs (%d bytes, %v)", len(got), err)
	}
}

// The loopback TCP helpers every test file uses.
var (
	tcpListener = testprog.TCPListener
	tcpPairOn   = testprog.TCPPairOn
	tcpPair     = testprog.TCPPair
)

func TestPortableProxy(t *testing.T) {
	client, proxyA := tcpPair(t)
	proxyB, server := tcpPair(t)
	up, down := testData(2<<20), testData(1<<20+3)
	type result struct {
		got []byte
		err error
	}
	serverGot := make(chan result, 1)
	go func() {
		b, err := io.ReadAll(server)
		serverGot <- result{b, err}
	}()
	go func() {
		server.Write(down)
		server.CloseWrite()
	}()
	proxied := make(chan error, 1)
	go func() {
		_, _, err := Proxy(context.Background(), proxyA, proxyB)
		proxied <- err
	}()
	go func() {
		client.Write(up)
		client.CloseWrite()
	}()
	got, err := io.ReadAll(client)
	if err != nil || !bytes.Equal(got, down) {
		t.Fatalf("client read %d bytes, %v; want %d", len(got), err, len(down))
	}
	r := <-serverGot
	if r.err != nil || !bytes.Equal(r.got, up) {
		t.Fatalf("server read %d bytes, %v; want %d", len(r.got), r.err, len(up))
	}
	if err := <-proxied; err != nil {
		t.Fatalf("Proxy: %v", err)
	}
}

func TestPortableDoubleSpliceCancel(t *testing.T) {
	a, b := tcpPair(t)
	c, _ := tcpPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := DoubleSplice(ctx, c, b) // b has nothing to read yet
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("DoubleSplice after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("DoubleSplice did not return after cancel")
	}
	// The connections stay usable.
	a.Write([]byte("after"))
	buf := make([]byte, 5)
	b.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(b, buf); err != nil || string(buf) != "after" {
		t.Fatalf("read after cancel: %q, %v", buf, err)
	}
}

func TestPortableGzipRoundTrip(t *testing.T) {
	want := testData(1 << 20)
	hdr := &GzipHeader{Name: "données.txt", Comment: "a comment", ModTime: time.Unix(1700000000, 0), Extra: []byte{1, 2}, OS: 3}
	var comp bytes.Buffer
	if _, err := Gzip(&comp, bytes.NewReader(want), hdr); err != nil {
		t.Fatal(err)
	}
	// The standard library reads what kpipe writes.
	zr, err := gzip.NewReader(bytes.NewReader(comp.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("compress/gzip read %d bytes, %v", len(got), err)
	}
	if zr.Name != hdr.Name || zr.Comment != hdr.Comment || !zr.ModTime.Equal(hdr.ModTime) || !bytes.Equal(zr.Extra, hdr.Extra) {
		t.Errorf("compress/gzip saw header %+v, want %+v", zr.Header, *hdr)
	}
	// And kpipe reads it back, header included.
	var out bytes.Buffer
	var back GzipHeader
	n, err := Gunzip(&out, bytes.NewReader(comp.Bytes()), &back)
	if err != nil || n != int64(len(want)) || !bytes.Equal(out.Bytes(), want) {
		t.Fatalf("Gunzip = %d, %v", n, err)
	}
	if back.Name != hdr.Name || back.Comment != hdr.Comment || !back.ModTime.Equal(hdr.ModTime) ||
		!bytes.Equal(back.Extra, hdr.Extra) || back.OS != hdr.OS {
		t.Errorf("Gunzip header %+v, want %+v", back, *hdr)
	}
}

func TestPortableDecompressErrors(t *testing.T) {
	data := testData(100 << 10)
	var gz, zl bytes.Buffer
	if _, err := Gzip(&gz, bytes.NewReader(data), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Deflate(&zl, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	corrupt := func(b []byte, i int) []byte {
		c := append([]byte(nil), b...)
		c[i] ^= 0xff
		return c
	}
	tests := []struct {
		name   string
		decode func(io.Writer, io.Reader) (int64, error)
		input  []byte
		want   error
	}{
		{"gunzip empty", gunzipNoHeader, nil, io.ErrUnexpectedEOF},
		{"gunzip truncated", gunzipNoHeader, gz.Bytes()[:gz.Len()/2], io.ErrUnexpectedEOF},
		{"gunzip bad magic", gunzipNoHeader, corrupt(gz.Bytes(), 0), ErrHeader},
		{"gunzip bad crc", gunzipNoHeader, corrupt(gz.Bytes(), gz.Len()-6), ErrChecksum},
		{"gunzip trailing garbage", gunzipNoHeader, append(append([]byte(nil), gz.Bytes()...), 'x'), ErrHeader},
		{"inflate empty", Inflate, nil, io.ErrUnexpectedEOF},
		{"inflate truncated", Inflate, zl.Bytes()[:zl.Len()-2], io.ErrUnexpectedEOF},
		{"inflate bad adler", Inflate, corrupt(zl.Bytes(), zl.Len()-1), ErrChecksum},
		{"inflate bad header", Inflate, corrupt(zl.Bytes(), 0), ErrHeader},
		{"inflate trailing data", Inflate, append(append([]byte(nil), zl.Bytes()...), 0), ErrHeader},
	}
	for _, tt := range tests {
		n, err := tt.decode(io.Discard, bytes.NewReader(tt.input))
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: %d, %v; want %v", tt.name, n, err, tt.want)
		}
	}
	// Two members decode to both.
	var two bytes.Buffer
	two.Write(gz.Bytes())
	two.Write(gz.Bytes())
	var out bytes.Buffer
	if n, err := Gunzip(&out, &two, nil); err != nil || n != 2*int64(len(data)) {
		t.Errorf("Gunzip of two members = %d, %v", n, err)
	}
	// MaxOutput stops with ErrTooLarge, having written exactly up to it.
	out.Reset()
	n, err := Codec{MaxOutput: 1000}.Gunzip(&out, bytes.NewReader(gz.Bytes()), nil)
	if !errors.Is(err, ErrTooLarge) || n != 1000 || !bytes.Equal(out.Bytes(), data[:1000]) {
		t.Errorf("Gunzip with MaxOutput 1000 = %d (%d written), %v", n, out.Len(), err)
	}
}

func gunzipNoHeader(dst io.Writer, src io.Reader) (int64, error) { return Gunzip(dst, src, nil) }

func TestPortableChunkedTransfer(t *testing.T) {
	want := testData(200<<10 + 5)
	var framed bytes.Buffer
	n, err := ChunkedTransfer(&framed, bytes.NewReader(want))
	if err != nil || n != int64(len(want)) {
		t.Fatalf("ChunkedTransfer = %d, %v", n, err)
	}
	if !bytes.HasSuffix(framed.Bytes(), []byte("0\r\n\r\n")) {
		t.Error("no last chunk")
	}
	got, err := io.ReadAll(httputil.NewChunkedReader(&framed))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("decoded %d bytes, %v", len(got), err)
	}
}
