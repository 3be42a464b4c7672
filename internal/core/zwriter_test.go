//go:build linux

package core

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestGzipWriterRoundTrip: what a GzipWriter makes, written in pieces of
// every size, into a buffer, a plain writer or a file, decodes to the
// input with compress/gzip, at every level.
func TestGzipWriterRoundTrip(t *testing.T) {
	data := zData(300 << 10)
	for _, level := range []int{BestSpeed, 3, 4, DefaultCompression, BestCompression, HuffmanOnly} {
		for _, piece := range []int{1 << 20, 4096, 1000} {
			var buf bytes.Buffer
			sinks := map[string]io.Writer{"bytes.Buffer": &buf, "plain": plainWriter{&buf}, "file": nil}
			for name, dst := range sinks {
				buf.Reset()
				var f *os.File
				if dst == nil {
					f = tempFileRW(t)
					dst = f
				}
				w, err := Codec{Level: level}.NewGzipWriter(dst, nil)
				if err != nil {
					t.Fatal(err)
				}
				for off := 0; off < len(data); off += piece {
					p := data[off:min(off+piece, len(data))]
					if n, err := w.Write(p); n != len(p) || err != nil {
						t.Fatalf("level %d %s: Write = %d, %v", level, name, n, err)
					}
				}
				if err := w.Close(); err != nil {
					t.Fatalf("level %d %s: Close: %v", level, name, err)
				}
				comp := buf.Bytes()
				if f != nil {
					comp = fileContents(t, f)
				}
				got, _, err := refGunzip(comp)
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("level %d %s, pieces of %d: decoded %d bytes, %v; want the %d written",
						level, name, piece, len(got), err, len(data))
				}
			}
		}
	}
}

// TestGzipWriterFlush: after each Flush, everything written so far is
// decodable from what dst has received; flushing twice, or before any
// write, keeps the stream valid.
func TestGzipWriterFlush(t *testing.T) {
	data := zData(200 << 10)
	for _, level := range []int{BestSpeed, 3, DefaultCompression} {
		var buf bytes.Buffer
		w, err := Codec{Level: level}.NewGzipWriter(&buf, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		prev := 0
		for _, cut := range []int{100, 70 << 10, 150 << 10, len(data)} {
			if _, err := w.Write(data[prev:cut]); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if err := w.Flush(); err != nil {
					t.Fatal(err)
				}
				zr, err := gzip.NewReader(bytes.NewReader(buf.Bytes()))
				if err != nil {
					t.Fatalf("level %d: header after Flush: %v", level, err)
				}
				got := make([]byte, cut)
				if _, err := io.ReadFull(zr, got); err != nil || !bytes.Equal(got, data[:cut]) {
					t.Fatalf("level %d: after Flush at %d the stream decodes %v", level, cut, err)
				}
			}
			prev = cut
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if got, _, err := refGunzip(buf.Bytes()); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("level %d: whole stream: %v", level, err)
		}
	}
}

// TestGzipWriterHeader: the header given is the one written, and a header
// that cannot be written is refused at once, wrapping ErrHeader.
func TestGzipWriterHeader(t *testing.T) {
	mt := time.Unix(1700000000, 0)
	var buf bytes.Buffer
	w, err := Codec{}.NewGzipWriter(&buf, &GzipHeader{Name: "a.txt", Comment: "c", ModTime: mt, Extra: []byte{1, 2, 3, 4}, OS: 7})
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "hello")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var h GzipHeader
	var out bytes.Buffer
	if _, err := Gunzip(&out, &buf, &h); err != nil || out.String() != "hello" {
		t.Fatalf("Gunzip = %q, %v", out.String(), err)
	}
	if h.Name != "a.txt" || h.Comment != "c" || !h.ModTime.Equal(mt) || !bytes.Equal(h.Extra, []byte{1, 2, 3, 4}) || h.OS != 7 {
		t.Fatalf("header read back: %+v", h)
	}
	if _, err := (Codec{}).NewGzipWriter(&buf, &GzipHeader{Name: "a\x00b"}); !errors.Is(err, ErrHeader) {
		t.Fatalf("NUL in the name: %v, want ErrHeader", err)
	}
	if _, err := (Codec{Level: 12}).NewGzipWriter(&buf, nil); err == nil {
		t.Fatal("level 12 accepted")
	}
}

// TestGzipWriterErrors: a failing destination's error comes back from the
// call and every later one; Close after Close is nil, Write after Close an
// error; Reset makes the writer usable again.
func TestGzipWriterErrors(t *testing.T) {
	r, wp := osPipe(t)
	r.Close()
	w, err := Codec{Level: BestSpeed}.NewGzipWriter(wp, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(zData(1 << 20))
	err = w.Close()
	if !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("Close into a pipe without reader = %v, want EPIPE", err)
	}
	if _, err2 := w.Write([]byte("x")); !errors.Is(err2, syscall.EPIPE) {
		t.Fatalf("Write after the failure = %v, want it again", err2)
	}

	var buf bytes.Buffer
	w.Reset(&buf)
	w.Write([]byte("again"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Fatal("Write after Close succeeded")
	}
	if got, _, err := refGunzip(buf.Bytes()); err != nil || string(got) != "again" {
		t.Fatalf("after Reset: %q, %v", got, err)
	}
}

// TestGzipWriterWhole: at a level libdeflate runs, what a GzipWriter is
// given in pieces comes out as Codec.Gzip makes it from memory (the same
// engine on the whole input); past 8 MiB the stream goes on through zlib
// and still decodes whole.
func TestGzipWriterWhole(t *testing.T) {
	for _, size := range []int{200 << 10, 9 << 20} {
		data := zData(size)
		var want, got bytes.Buffer
		if _, err := (Codec{Level: 6}).Gzip(&want, bytes.NewReader(data), nil); err != nil {
			t.Fatal(err)
		}
		w, err := Codec{Level: 6}.NewGzipWriter(&got, nil)
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off < len(data); off += 7000 {
			w.Write(data[off:min(off+7000, len(data))])
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if size < 8<<20 && strings.Contains(CompressionEngine(), "libdeflate") && !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("%d bytes: %d compressed, Codec.Gzip made %d", size, got.Len(), want.Len())
		}
		if plain, _, err := refGunzip(got.Bytes()); err != nil || !bytes.Equal(plain, data) {
			t.Fatalf("%d bytes: decoded %d, %v", size, len(plain), err)
		}
	}
}
