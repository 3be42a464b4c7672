//go:build linux && cgo

package core

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/kpipe/kpipe/internal/testprog"
)

// TestZlibAllocs checks that Gzip, Gunzip, Deflate and Inflate between
// descriptors allocate nothing on the Go heap in steady state.
func TestZlibAllocs(t *testing.T) {
	if testprog.Instrumented {
		t.Skip("the race detector allocates")
	}
	data := zData(64 << 10)
	gz := refGzip(t, data, nil)
	zl := refZlib(t, data)

	run := func(name string, src, dst interface {
		io.ReadWriteSeeker
	}, do func() (int64, error), want int64) {
		t.Run(name, func(t *testing.T) {
			allocCheck(t, func() {
				src.Seek(0, io.SeekStart)
				dst.Seek(0, io.SeekStart)
				if n, err := do(); err != nil || (want >= 0 && n != want) {
					t.Fatalf("%s = %d, %v", name, n, err)
				}
			})
		})
	}
	plain := tempFileWith(t, data)
	gzSrc := tempFileWith(t, gz)
	zlSrc := tempFileWith(t, zl)
	out := tempFileRW(t)
	run("Gzip file->file", plain, out, func() (int64, error) { return Gzip(out, plain, nil) }, -1)
	run("Gunzip file->file", gzSrc, out, func() (int64, error) { return Gunzip(out, gzSrc, nil) }, int64(len(data)))
	run("Deflate file->file", plain, out, func() (int64, error) { return Deflate(out, plain) }, -1)
	run("Inflate file->file", zlSrc, out, func() (int64, error) { return Inflate(out, zlSrc) }, int64(len(data)))
	// Reading the header into a GzipHeader without text fields costs
	// nothing either.
	var hdr GzipHeader
	run("Gunzip file->file with header", gzSrc, out, func() (int64, error) { return Gunzip(out, gzSrc, &hdr) }, int64(len(data)))

	t.Run("Gzip file->tcp", func(t *testing.T) {
		c, s := tcpPair(t)
		done := discardAsync(s)
		allocCheck(t, func() {
			plain.Seek(0, io.SeekStart)
			if _, err := Gzip(c, plain, nil); err != nil {
				t.Fatal(err)
			}
		})
		c.CloseWrite()
		<-done
	})
}

// TestZlibNoFDLeaks runs streams that succeed and fail, many at once, and
// checks that the descriptors are those of before and that the pool of
// stream contexts stays bounded.
func TestZlibNoFDLeaks(t *testing.T) {
	data := zData(100_000)
	gz := refGzip(t, data, nil)
	bad := append(append([]byte(nil), gz...), "junk"...)
	round := func(t *testing.T, i int) error {
		switch i % 5 {
		case 0:
			dst := tempFileRW(t)
			if _, err := Gzip(dst, tempFileWith(t, data), nil); err != nil {
				return err
			}
		case 1:
			p := newTestPipe(t)
			go func() { p.Write(gz); p.CloseWrite() }()
			if n, err := Gunzip(io.Discard, p, nil); err != nil || n != int64(len(data)) {
				return fmt.Errorf("Gunzip pipe = %d, %v", n, err)
			}
			p.Close()
		case 2:
			if _, err := Gunzip(tempFileRW(t), bytes.NewReader(bad), nil); !errors.Is(err, ErrHeader) {
				return fmt.Errorf("Gunzip with trailing junk: %v", err)
			}
		case 3:
			dead := deadTCPConn(t, true)
			if _, err := Gzip(dead, bytes.NewReader(data), nil); !isPeerGone(err) {
				return fmt.Errorf("Gzip into a reset socket: %v", err)
			}
			dead.Close()
		case 4:
			c, s := tcpPair(t)
			go func() { c.Write(gz[:len(gz)/2]); c.Close() }()
			if _, err := (Codec{MaxOutput: 10}).Gunzip(io.Discard, s, nil); !errors.Is(err, ErrTooLarge) {
				return fmt.Errorf("Gunzip past MaxOutput: %v", err)
			}
			s.Close()
		}
		return nil
	}
	t.Run("rounds", func(t *testing.T) {
		for i := 0; i < 5; i++ { // warm up
			if err := round(t, i); err != nil {
				t.Fatal(err)
			}
		}
	})
	before := openFDs(t)
	t.Run("concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		for g := 0; g < 3*zPoolMax; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := g; i < g+25; i++ {
					if err := round(t, i); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
	})
	if n := idleZ(); n > 2*zPoolMax {
		t.Fatalf("%d idle stream contexts, more than %d", n, 2*zPoolMax)
	}
	if after := openFDs(t); after != before {
		t.Fatalf("open descriptors went from %d to %d", before, after)
	}
}

// TestGzipWriterAllocs: a GzipWriter reused through Reset allocates
// nothing per stream: Write, Flush and Close included.
func TestGzipWriterAllocs(t *testing.T) {
	if testprog.Instrumented {
		t.Skip("the race detector allocates")
	}
	data := zData(64 << 10)
	var buf bytes.Buffer
	buf.Grow(64 << 10)
	w, err := Codec{Level: BestSpeed}.NewGzipWriter(&buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	var dst io.Writer = plainWriter{&buf}
	allocCheck(t, func() {
		buf.Reset()
		w.Reset(dst)
		w.Write(data[:1000])
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		w.Write(data[1000:])
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	})
}
