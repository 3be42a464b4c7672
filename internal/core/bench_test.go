//go:build linux

package core

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
)

// The benchmarks compare, side by side in one run, the ways a Go program can
// move a file's bytes:
//
//	readwrite32K  io.CopyBuffer with a 32 KiB buffer, with the ReaderFrom and
//	              WriterTo of both ends hidden: a true read/write loop, what
//	              io.Copy does for endpoints without a faster path
//	iocopy        io.Copy on the *os.File or *net.TCPConn itself: Go's own
//	              copy_file_range (file to file) or sendfile (file to socket)
//	kpipeCopy     kpipe.Copy
//	spliceLoop    kpipe.Splice file -> Pipe -> file in a loop, the Ruby
//	              article's program (file to file only), with a 1 MiB pipe
//
// Sizes are binary, for the article's "7 Mb", "200 Mb" and "1 Gb" rows:
// 7 MiB (7,340,032 bytes), 200 MiB (209,715,200) and 1 GiB (1,073,741,824).
// The MB/s column of go test is decimal (10^6 bytes per second). Source files hold pseudo-random bytes, are created once per run
// (only for the sizes selected by -bench), synced so that they stay in the
// page cache as clean pages, and removed when their sizes are done. Every
// iteration copies the whole file to a truncated destination in the same
// directory; the truncation is not timed. Turn the output into the README's
// table with `go run build/benchtable.go`.

// benchSizes are the file sizes of BenchmarkFileCopy.
var benchSizes = []struct {
	name string
	size int64
}{
	{"7MiB", 7 << 20},
	{"200MiB", 200 << 20},
	{"1GiB", 1 << 30},
}

// benchTCPName and benchTCPSize label and size the file of
// BenchmarkFileToTCP.
const (
	benchTCPName = "200MiB"
	benchTCPSize = 200 << 20
)

// benchBufSize is the buffer of the read/write baseline: io.Copy's default.
const benchBufSize = 32 << 10

// benchPipeSize is the capacity asked for the spliceLoop pipe.
const benchPipeSize = 1 << 20

// benchReader hides every method of an io.Reader but Read, and benchWriter
// every method of an io.Writer but Write, so that io.CopyBuffer cannot use
// ReaderFrom or WriterTo.
type (
	benchReader struct{ r io.Reader }
	benchWriter struct{ w io.Writer }
)

func (r benchReader) Read(p []byte) (int, error)  { return r.r.Read(p) }
func (w benchWriter) Write(p []byte) (int, error) { return w.w.Write(p) }

// benchDir returns a temporary directory for benchmark files: in memory
// (/dev/shm) where there is one, so that figures measure the copy and not the
// disk, and in the default temporary directory otherwise. KPIPE_BENCH_DIR
// overrides the choice.
func benchDir(b *testing.B) string {
	b.Helper()
	parent := os.Getenv("KPIPE_BENCH_DIR")
	if parent == "" {
		if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
			parent = "/dev/shm"
		}
	}
	if parent == "" {
		return b.TempDir()
	}
	dir, err := os.MkdirTemp(parent, "kpipe-bench-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// benchSource creates a file of size pseudo-random bytes in dir, syncs it,
// and returns its path. It is removed with dir.
func benchSource(b *testing.B, dir string, size int64) string {
	b.Helper()
	path := filepath.Join(dir, "src")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	state := uint64(size) // splitmix64, seeded by the size
	for left := size; left > 0; {
		for i := 0; i+8 <= len(buf); i += 8 {
			state += 0x9e3779b97f4a7c15
			z := state
			z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
			z = (z ^ (z >> 27)) * 0x94d049bb133111eb
			binary.LittleEndian.PutUint64(buf[i:], z^(z>>31))
		}
		chunk := buf
		if int64(len(chunk)) > left {
			chunk = chunk[:left]
		}
		if _, err := f.Write(chunk); err != nil {
			b.Fatal(err)
		}
		left -= int64(len(chunk))
	}
	// Clean pages stay cached and are not written back while timing.
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// benchSameFiles fails b unless the files at paths a and b have the same
// contents.
func benchSameFiles(b *testing.B, pathA, pathB string) {
	b.Helper()
	fa, err := os.Open(pathA)
	if err != nil {
		b.Fatal(err)
	}
	defer fa.Close()
	fb, err := os.Open(pathB)
	if err != nil {
		b.Fatal(err)
	}
	defer fb.Close()
	bufA, bufB := make([]byte, 4<<20), make([]byte, 4<<20)
	for off := int64(0); ; {
		na, errA := io.ReadFull(fa, bufA)
		nb, errB := io.ReadFull(fb, bufB)
		if na != nb || !bytes.Equal(bufA[:na], bufB[:nb]) {
			b.Fatalf("%s and %s differ in the 4 MiB from offset %d", pathA, pathB, off)
		}
		off += int64(na)
		if errA == io.EOF || errA == io.ErrUnexpectedEOF {
			if errB != errA {
				b.Fatalf("%s and %s differ in length", pathA, pathB)
			}
			return
		}
		if errA != nil || errB != nil {
			b.Fatal(errA, errB)
		}
	}
}

// benchFileMethod is one way to copy a file to a file.
type benchFileMethod struct {
	name string
	// setup runs once per benchmark, before the timer starts, and returns
	// a function that copies src to dst from their offsets, and a
	// clean-up.
	setup func(b *testing.B, dst, src *os.File) (copyFn func() (int64, error), done func())
}

var benchFileMethods = []benchFileMethod{
	{"readwrite32K", func(b *testing.B, dst, src *os.File) (func() (int64, error), func()) {
		buf := make([]byte, benchBufSize)
		var r io.Reader = benchReader{src}
		var w io.Writer = benchWriter{dst}
		return func() (int64, error) { return io.CopyBuffer(w, r, buf) }, func() {}
	}},
	{"iocopy", func(b *testing.B, dst, src *os.File) (func() (int64, error), func()) {
		return func() (int64, error) { return io.Copy(dst, src) }, func() {}
	}},
	{"kpipeCopy", func(b *testing.B, dst, src *os.File) (func() (int64, error), func()) {
		return func() (int64, error) { return Copy(dst, src) }, func() {}
	}},
	{"spliceLoop", func(b *testing.B, dst, src *os.File) (func() (int64, error), func()) {
		p, err := NewPipe()
		if err != nil {
			b.Fatal(err)
		}
		capacity, err := p.SetCap(benchPipeSize)
		if err != nil {
			b.Logf("pipe capacity %d refused (%v): using the default", benchPipeSize, err)
			if capacity, err = p.Cap(); err != nil {
				b.Fatal(err)
			}
		}
		return func() (int64, error) {
			return benchSpliceLoop(dst, src, p, int64(capacity))
		}, func() { p.Close() }
	}},
}

// benchSpliceLoop copies src to dst through p: as much as p holds from src
// into p, then all of that from p into dst, until src ends.
func benchSpliceLoop(dst, src *os.File, p *Pipe, capacity int64) (int64, error) {
	var total int64
	for {
		n, err := Splice(p, src, capacity)
		if err != nil {
			return total, err
		}
		if n == 0 {
			return total, nil
		}
		for n > 0 {
			m, err := Splice(dst, p, n)
			total += m
			if err != nil {
				return total, err
			}
			if m == 0 {
				return total, io.ErrUnexpectedEOF
			}
			n -= m
		}
	}
}

// BenchmarkFileCopy copies files of 7 MiB, 200 MiB and 1 GiB, in the page
// cache, with each method.
func BenchmarkFileCopy(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			dir := benchDir(b)
			src := benchSource(b, dir, sz.size)
			for _, m := range benchFileMethods {
				b.Run(m.name, func(b *testing.B) {
					benchFileCopy(b, m, src, filepath.Join(dir, "dst-"+m.name), sz.size)
				})
			}
		})
	}
}

// benchFileCopy runs one method b.N times on the file at srcPath and checks
// the last copy against the source.
func benchFileCopy(b *testing.B, m benchFileMethod, srcPath, dstPath string, size int64) {
	src, err := os.Open(srcPath)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(dstPath)
	if err != nil {
		b.Fatal(err)
	}
	defer os.Remove(dstPath)
	defer dst.Close()
	copyFn, done := m.setup(b, dst, src)
	defer done()

	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if err := dst.Truncate(0); err != nil {
			b.Fatal(err)
		}
		if _, err := dst.Seek(0, io.SeekStart); err != nil {
			b.Fatal(err)
		}
		if _, err := src.Seek(0, io.SeekStart); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		n, err := copyFn()
		if err != nil {
			b.Fatalf("%s: %v after %d bytes", m.name, err, n)
		}
		if n != size {
			b.Fatalf("%s copied %d bytes, want %d", m.name, n, size)
		}
	}
	b.StopTimer()
	benchSameFiles(b, srcPath, dstPath)
}

// benchTCPMethods are the ways to send a file into a TCP connection.
var benchTCPMethods = []struct {
	name   string
	copyFn func(dst *net.TCPConn, src *os.File, buf []byte) (int64, error)
}{
	{"readwrite32K", func(dst *net.TCPConn, src *os.File, buf []byte) (int64, error) {
		return io.CopyBuffer(benchWriter{dst}, benchReader{src}, buf)
	}},
	{"iocopy", func(dst *net.TCPConn, src *os.File, _ []byte) (int64, error) {
		return io.Copy(dst, src)
	}},
	{"kpipeCopy", func(dst *net.TCPConn, src *os.File, _ []byte) (int64, error) {
		return Copy(dst, src)
	}},
}

// BenchmarkFileToTCP sends a 200 MiB file over a loopback TCP connection
// with each method; the receiver drains with io.Copy(io.Discard, conn). Each
// iteration dials a connection, sends the file, shuts down the sending side
// and waits until the receiver has counted every byte.
func BenchmarkFileToTCP(b *testing.B) {
	b.Run(benchTCPName, func(b *testing.B) {
		src := benchSource(b, benchDir(b), benchTCPSize)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		type result struct {
			n   int64
			err error
		}
		received := make(chan result)
		accepted := make(chan struct{})
		go func() {
			defer close(accepted)
			for {
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				n, err := io.Copy(io.Discard, conn)
				conn.Close()
				received <- result{n, err}
			}
		}()
		defer func() {
			ln.Close()
			<-accepted
		}()
		for _, m := range benchTCPMethods {
			b.Run(m.name, func(b *testing.B) {
				f, err := os.Open(src)
				if err != nil {
					b.Fatal(err)
				}
				defer f.Close()
				buf := make([]byte, benchBufSize)
				b.SetBytes(benchTCPSize)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := f.Seek(0, io.SeekStart); err != nil {
						b.Fatal(err)
					}
					c, err := net.Dial("tcp", ln.Addr().String())
					if err != nil {
						b.Fatal(err)
					}
					conn := c.(*net.TCPConn)
					n, err := m.copyFn(conn, f, buf)
					if err == nil {
						err = conn.CloseWrite()
					}
					r := <-received
					conn.Close()
					if err != nil || r.err != nil {
						b.Fatalf("%s: sent %d bytes: %v; receiver: %v", m.name, n, err, r.err)
					}
					if n != benchTCPSize || r.n != benchTCPSize {
						b.Fatalf("%s: sent %d bytes, received %d, want %d", m.name, n, r.n, benchTCPSize)
					}
				}
			})
		}
	})
}
