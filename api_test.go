package kpipe_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kpipe/kpipe"
	"github.com/kpipe/kpipe/internal/core"
	"github.com/kpipe/kpipe/internal/testprog"
)

// The package's functions hand the caller's endpoints to internal/core,
// whose tests cover the behaviour; these tests check the hand-over itself:
// a *Pipe reaches the core as a pipe, settings and headers arrive whole, and
// what comes back names the caller's own values.

// hangLimit bounds waits for data that should flow at once. It detects
// hangs, it measures nothing.
const hangLimit = 20 * time.Second

func newPipe(t *testing.T) *kpipe.Pipe {
	t.Helper()
	p, err := kpipe.NewPipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func linuxOnly(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("splice and tee are Linux's")
	}
}

func TestAPIPipeSpliceTee(t *testing.T) {
	linuxOnly(t)
	src, dst, copyDst := newPipe(t), newPipe(t), newPipe(t)
	if _, err := src.Write([]byte("hello, pipe")); err != nil {
		t.Fatal(err)
	}
	if n, err := src.Buffered(); n != 11 || err != nil {
		t.Fatalf("Buffered = %d, %v; want 11", n, err)
	}
	if n, err := kpipe.Tee(copyDst, src, 64); n != 11 || err != nil {
		t.Fatalf("Tee = %d, %v; want 11", n, err)
	}
	if n, err := kpipe.Splice(dst, src, 64); n != 11 || err != nil {
		t.Fatalf("Splice = %d, %v; want 11", n, err)
	}
	for _, p := range []*kpipe.Pipe{dst, copyDst} {
		got := make([]byte, 11)
		if _, err := io.ReadFull(p, got); err != nil || string(got) != "hello, pipe" {
			t.Fatalf("read %q, %v", got, err)
		}
	}
	if _, err := kpipe.Splice(&bytes.Buffer{}, &bytes.Buffer{}, 1); !errors.Is(err, kpipe.ErrNeedPipe) {
		t.Errorf("Splice between buffers: %v; want ErrNeedPipe", err)
	}
	if _, err := kpipe.Tee(nil, src, 1); !errors.Is(err, kpipe.ErrNoFD) {
		t.Errorf("Tee to a nil *Pipe: %v; want ErrNoFD", err)
	}
	if _, err := kpipe.Splice((*kpipe.Pipe)(nil), src, 1); !errors.Is(err, kpipe.ErrNoFD) {
		t.Errorf("Splice to a nil *Pipe: %v; want ErrNoFD", err)
	}
	if c, err := dst.SetCap(1 << 17); c < 1<<17 || err != nil {
		t.Errorf("SetCap(128 KiB) = %d, %v", c, err)
	}
	if c, err := dst.Cap(); c < 1<<17 || err != nil {
		t.Errorf("Cap = %d, %v after SetCap(128 KiB)", c, err)
	}
}

func TestAPIPipeDeadlineAndClose(t *testing.T) {
	p := newPipe(t)
	if err := p.SetReadDeadline(time.Now().Add(10 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Read past the deadline: %v", err)
	}
	if err := p.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	p.SetDeadline(time.Time{})
	if _, err := p.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("Read after CloseWrite: %v; want io.EOF", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestAPICopyAndChunks(t *testing.T) {
	src, dst := newPipe(t), newPipe(t)
	go func() {
		src.Write([]byte("abc"))
		src.CloseWrite()
	}()
	if n, err := kpipe.Copy(dst, src); n != 3 || err != nil {
		t.Fatalf("Copy = %d, %v", n, err)
	}
	dst.CloseWrite()
	var out bytes.Buffer
	n, err := kpipe.SpliceChunks(&out, dst, kpipe.ChunkOptions{
		Prefix:      []byte("<"),
		ChunkPrefix: func(n int) []byte { return []byte{'0' + byte(n)} },
		Postfix:     []byte(">"),
		ChunkSize:   2,
	})
	if n != 3 || err != nil || out.String() != "<2ab1c>" {
		t.Fatalf("SpliceChunks = %d, %v, %q; want 3, <2ab1c>", n, err, out.String())
	}
	out.Reset()
	if n, err := kpipe.ChunkedTransfer(&out, strings.NewReader("hello")); n != 5 || err != nil || out.String() != "5\r\nhello\r\n0\r\n\r\n" {
		t.Fatalf("ChunkedTransfer = %d, %v, %q", n, err, out.String())
	}
}

func TestAPICodec(t *testing.T) {
	hdr := kpipe.GzipHeader{Name: "a.txt", Comment: "c", ModTime: time.Unix(1e9, 0), Extra: []byte{1}, OS: 3}
	data := bytes.Repeat([]byte("kpipe "), 1000)
	p := newPipe(t)
	go func() {
		kpipe.Codec{Level: kpipe.BestSpeed}.Gzip(p, bytes.NewReader(data), &hdr)
		p.CloseWrite()
	}()
	var got bytes.Buffer
	var back kpipe.GzipHeader
	if _, err := kpipe.Gunzip(&got, p, &back); err != nil || !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("Gunzip: %v, %d bytes", err, got.Len())
	}
	if back.Name != hdr.Name || back.Comment != hdr.Comment || !back.ModTime.Equal(hdr.ModTime) || !bytes.Equal(back.Extra, hdr.Extra) || back.OS != hdr.OS {
		t.Errorf("header %+v; want %+v", back, hdr)
	}
	var z bytes.Buffer
	if _, err := kpipe.Deflate(&z, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	got.Reset()
	_, err := kpipe.Codec{MaxOutput: 10}.Inflate(&got, &z)
	if !errors.Is(err, kpipe.ErrTooLarge) || got.Len() != 10 {
		t.Errorf("Inflate with MaxOutput 10: %v, %d bytes", err, got.Len())
	}
	if _, err := (kpipe.Codec{Level: 42}).Gzip(io.Discard, strings.NewReader(""), nil); err == nil {
		t.Error("Gzip at level 42 succeeded")
	}
	if _, err := kpipe.Inflate(io.Discard, strings.NewReader("x")); !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, kpipe.ErrHeader) {
		t.Errorf("Inflate of one byte: %v", err)
	}
}

func TestAPIGzipWriter(t *testing.T) {
	p := newPipe(t)
	w, err := kpipe.Codec{}.NewGzipWriter(p, &kpipe.GzipHeader{Name: "w"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	var got bytes.Buffer
	var hdr kpipe.GzipHeader
	go func() {
		_, err := kpipe.Gunzip(&got, p, &hdr)
		done <- err
	}()
	w.WriteString("hello, ")
	w.Write([]byte("writer"))
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p.CloseWrite()
	if err := <-done; err != nil || got.String() != "hello, writer" || hdr.Name != "w" {
		t.Fatalf("Gunzip: %v, %q, header %q", err, got.String(), hdr.Name)
	}
	var b bytes.Buffer
	w.Reset(&b)
	w.Close()
	got.Reset()
	if _, err := kpipe.Gunzip(&got, &b, nil); err != nil || got.Len() != 0 {
		t.Errorf("after Reset: %v, %q", err, got.String())
	}
}

// TestAPIUndeliveredNamesCallersPipe cancels a DoubleSplice into a full
// *Pipe while the engine holds bytes for it: the *UndeliveredError's Dst is
// the caller's *Pipe.
func TestAPIUndeliveredNamesCallersPipe(t *testing.T) {
	linuxOnly(t)
	src, dst := newPipe(t), newPipe(t)
	e, err := kpipe.NewEngine(kpipe.Config{Backend: kpipe.BackendPoll})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.Backend() != kpipe.BackendPoll {
		t.Fatalf("Backend = %q", e.Backend())
	}
	capacity, err := dst.Cap()
	if err != nil {
		t.Fatal(err)
	}
	const extra = 4096
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		src.Write(make([]byte, capacity+extra))
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		n   int64
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := e.DoubleSplice(ctx, dst, src)
		done <- result{n, err}
	}()
	// Once everything is written, dst full and src empty, the engine
	// holds the rest.
	select {
	case <-wrote:
	case <-time.After(hangLimit):
		t.Fatal("the source's writer is stuck")
	}
	deadline := time.Now().Add(hangLimit)
	for {
		full, _ := dst.Buffered()
		left, _ := src.Buffered()
		if full == capacity && left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dst holds %d, src %d", full, left)
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	res := <-done
	ue := kpipe.Undelivered(res.err)
	if !errors.Is(res.err, context.Canceled) || len(ue) != 1 {
		t.Fatalf("DoubleSplice = %d, %v; want context.Canceled with one UndeliveredError", res.n, res.err)
	}
	if ue[0].Dst != io.Writer(dst) || res.n != int64(capacity) || len(ue[0].Data) != extra {
		t.Errorf("Dst %T %p (want %p), n %d, held %d", ue[0].Dst, ue[0].Dst, dst, res.n, len(ue[0].Data))
	}
}

func TestAPIProxyAndDefaults(t *testing.T) {
	a, aPeer := testprog.TCPPair(t)
	b, bPeer := testprog.TCPPair(t)
	aPeer.Write([]byte("to b"))
	aPeer.CloseWrite()
	bPeer.Write([]byte("to a!"))
	bPeer.CloseWrite()
	ab, ba, err := kpipe.Proxy(context.Background(), a, b)
	if ab != 4 || ba != 5 || err != nil {
		t.Fatalf("Proxy = %d, %d, %v; want 4, 5", ab, ba, err)
	}
	for _, c := range []struct {
		peer *net.TCPConn
		want string
	}{{bPeer, "to b"}, {aPeer, "to a!"}} {
		c.peer.SetReadDeadline(time.Now().Add(hangLimit))
		if got, err := io.ReadAll(c.peer); string(got) != c.want || err != nil {
			t.Errorf("peer read %q, %v; want %q", got, err, c.want)
		}
	}
	if kpipe.DefaultBackend() != kpipe.BackendPoll && kpipe.DefaultBackend() != kpipe.BackendIOUring {
		t.Errorf("DefaultBackend = %q", kpipe.DefaultBackend())
	}
	switch impl := kpipe.Implementation(); impl {
	case kpipe.ImplLinuxCgo:
		if kpipe.ZlibVersion() == "" || kpipe.CompressionEngine() == "go" {
			t.Errorf("%s: zlib %q, engine %q", impl, kpipe.ZlibVersion(), kpipe.CompressionEngine())
		}
	case kpipe.ImplLinuxGo, kpipe.ImplPortable:
		if kpipe.ZlibVersion() != "" || kpipe.CompressionEngine() != "go" {
			t.Errorf("%s: zlib %q, engine %q", impl, kpipe.ZlibVersion(), kpipe.CompressionEngine())
		}
	default:
		t.Errorf("Implementation = %q", impl)
	}
	if _, err := kpipe.NewEngine(kpipe.Config{PipeSize: -1}); err == nil {
		t.Error("NewEngine with a negative PipeSize succeeded")
	}
}

// TestAPIAllocs checks that handing endpoints to the core costs no
// allocation: a Splice between two *Pipe values, a Copy of a *Pipe into
// a file and a Gzip into a *bytes.Buffer allocate what the core's do,
// nothing.
func TestAPIAllocs(t *testing.T) {
	linuxOnly(t)
	if testprog.Instrumented {
		t.Skip("the race detector and AddressSanitizer allocate")
	}
	a, b := newPipe(t), newPipe(t)
	one := []byte{1}
	if n := testing.AllocsPerRun(100, func() {
		a.Write(one)
		if n, err := kpipe.Splice(b, a, 1); n != 1 || err != nil {
			t.Fatalf("Splice = %d, %v", n, err)
		}
		if n, err := kpipe.Splice(a, b, 1); n != 1 || err != nil {
			t.Fatalf("Splice back = %d, %v", n, err)
		}
		a.Read(one)
	}); n != 0 {
		t.Errorf("Splice between pipes: %v allocations per run", n)
	}
	// A *Pipe inside an *io.LimitedReader is still a pipe to the core:
	// spliced, not copied through a buffer.
	limited := &io.LimitedReader{}
	if n := testing.AllocsPerRun(100, func() {
		a.Write(one)
		*limited = io.LimitedReader{R: a, N: 1}
		if n, err := kpipe.Copy(b, limited); n != 1 || err != nil {
			t.Fatalf("Copy(*Pipe, LimitedReader{*Pipe}) = %d, %v", n, err)
		}
		b.Read(one)
	}); n != 0 {
		t.Errorf("Copy from a LimitedReader of a *Pipe: %v allocations per run", n)
	}
	var out bytes.Buffer
	in := bytes.NewReader(bytes.Repeat([]byte("kpipe "), 1000))
	kpipe.Gzip(&out, in, nil) // the first call fills the pools
	if n := testing.AllocsPerRun(20, func() {
		in.Seek(0, io.SeekStart)
		out.Reset()
		if _, err := (kpipe.Codec{Level: kpipe.BestSpeed}).Gzip(&out, in, nil); err != nil {
			t.Fatal(err)
		}
	}); n != 0 && kpipe.Implementation() == kpipe.ImplLinuxCgo {
		t.Errorf("Gzip from memory: %v allocations per run", n)
	}
}

// TestAPIConstants checks that the constants the API documents are the
// core's.
func TestAPIConstants(t *testing.T) {
	for _, c := range []struct {
		name      string
		api, core any
	}{
		{"BackendIOUring", kpipe.BackendIOUring, core.BackendIOUring},
		{"BackendPoll", kpipe.BackendPoll, core.BackendPoll},
		{"ImplLinuxCgo", kpipe.ImplLinuxCgo, core.ImplLinuxCgo},
		{"ImplLinuxGo", kpipe.ImplLinuxGo, core.ImplLinuxGo},
		{"ImplPortable", kpipe.ImplPortable, core.ImplPortable},
		{"DefaultCompression", kpipe.DefaultCompression, core.DefaultCompression},
		{"BestSpeed", kpipe.BestSpeed, core.BestSpeed},
		{"BestCompression", kpipe.BestCompression, core.BestCompression},
		{"HuffmanOnly", kpipe.HuffmanOnly, core.HuffmanOnly},
		{"DefaultChunkSize", kpipe.DefaultChunkSize, core.DefaultChunkSize},
	} {
		if c.api != c.core {
			t.Errorf("kpipe.%s = %v, the core's %v", c.name, c.api, c.core)
		}
	}
}
