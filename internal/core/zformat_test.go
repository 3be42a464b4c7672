//go:build linux

package core

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"strings"
	"testing"
	"time"
)

// The behaviours compress/gzip's own tests check, and the defects of other
// gzip implementations (output truncated, trailers dropped, corruption
// ignored): empty input, multistream, truncation
// at every prefix, bad trailers, bad headers, trailing garbage, corrupt
// bodies.

// gunzipPipe runs Gunzip from a *Pipe holding comp (then end of input)
// into a file, so that the whole loop runs in C.
func gunzipPipe(t *testing.T, comp []byte, expand func(io.Writer, io.Reader) (int64, error)) ([]byte, int64, error) {
	t.Helper()
	p := newTestPipe(t)
	if _, err := p.SetCap(1 << 20); err != nil && len(comp) > 64<<10 {
		t.Skipf("pipe too small for %d bytes: %v", len(comp), err)
	}
	if _, err := p.Write(comp); err != nil {
		t.Fatal(err)
	}
	p.CloseWrite()
	dst := tempFileRW(t)
	n, err := expand(dst, p)
	p.Close()
	return fileContents(t, dst), n, err
}

func gunzipNil(dst io.Writer, src io.Reader) (int64, error) { return Gunzip(dst, src, nil) }

// TestZlibEmptyInput: compressing nothing makes a valid stream of nothing;
// decompressing nothing is truncation, as with gzip(1).
func TestZlibEmptyInput(t *testing.T) {
	for _, f := range zFormats {
		var comp bytes.Buffer
		n, err := f.compress(&comp, strings.NewReader(""))
		if err != nil || n != int64(comp.Len()) || n == 0 {
			t.Fatalf("%s: compress(empty) = %d, %v", f.name, n, err)
		}
		if out, err := f.refExp(comp.Bytes()); err != nil || len(out) != 0 {
			t.Fatalf("%s: reference decoder of compress(empty): %q, %v", f.name, out, err)
		}
		var out bytes.Buffer
		if n, err := f.expand(&out, bytes.NewReader(comp.Bytes())); err != nil || n != 0 {
			t.Fatalf("%s: expand(compress(empty)) = %d, %v", f.name, n, err)
		}
		if n, err := f.expand(&out, strings.NewReader("")); !errors.Is(err, io.ErrUnexpectedEOF) || n != 0 {
			t.Fatalf("%s: expand(empty) = %d, %v; want io.ErrUnexpectedEOF", f.name, n, err)
		}
		empty := tempFileWith(t, nil)
		if n, err := f.expand(&out, empty); !errors.Is(err, io.ErrUnexpectedEOF) || n != 0 {
			t.Fatalf("%s: expand(empty file) = %d, %v; want io.ErrUnexpectedEOF", f.name, n, err)
		}
	}
	// Every engine writes nothing as one empty fixed block.
	for _, c := range []Codec{{Level: 1}, {}, {Level: 9}, {Threads: 2}, {Level: HuffmanOnly}} {
		for _, src := range []io.Reader{strings.NewReader(""), tempFileWith(t, nil), plainReader{strings.NewReader("")}} {
			var comp bytes.Buffer
			if _, err := c.Gzip(&comp, src, nil); err != nil || comp.Len() != 20 {
				t.Fatalf("%+v: Gzip of nothing from %T is %d bytes, %v; want 20 (10 of header, 2 of empty block, 8 of trailer)", c, src, comp.Len(), err)
			}
		}
	}
}

// TestGunzipMultistream decodes members from kpipe, compress/gzip and an
// empty one, concatenated, as one stream; the header is the first's.
func TestGunzipMultistream(t *testing.T) {
	var comp, want bytes.Buffer
	parts := []string{"kpipe member\n", "compress/gzip member\n", "", strings.Repeat("big ", 100_000)}
	for i, p := range parts {
		want.WriteString(p)
		if i%2 == 0 {
			if _, err := Gzip(&comp, strings.NewReader(p), &GzipHeader{Name: fmt.Sprint("part", i)}); err != nil {
				t.Fatal(err)
			}
		} else {
			ref := refGzip(t, []byte(p), nil)
			comp.Write(ref)
		}
	}
	check := func(how string, got []byte, n int64, err error) {
		t.Helper()
		if err != nil || n != int64(want.Len()) || !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("%s: Gunzip = %d, %v; want %d bytes", how, n, err, want.Len())
		}
	}
	var hdr GzipHeader
	var out bytes.Buffer
	n, err := Gunzip(&out, bytes.NewReader(comp.Bytes()), &hdr)
	check("memory", out.Bytes(), n, err)
	if hdr.Name != "part0" {
		t.Fatalf("header name %q, want the first member's, part0", hdr.Name)
	}
	got, n, err := gunzipPipe(t, comp.Bytes(), gunzipNil)
	check("pipe", got, n, err)
	// The reference agrees.
	ref, _, err := refGunzip(comp.Bytes())
	if err != nil || !bytes.Equal(ref, want.Bytes()) {
		t.Fatalf("compress/gzip: %d bytes, %v", len(ref), err)
	}
}

// truncationCases are small streams with every part of the format: gzip
// with all header fields and two members, zlib.

// latin1RefHeader is latin1Header for compress/gzip.
func latin1RefHeader() *gzip.Header {
	h := latin1Header
	return &gzip.Header{Name: h.Name, Comment: h.Comment, ModTime: h.ModTime, Extra: h.Extra, OS: h.OS}
}
func truncationCases(t *testing.T) []struct {
	name   string
	comp   []byte
	expand func(io.Writer, io.Reader) (int64, error)
} {
	// Made by compress/gzip and compress/zlib: kpipe's decoder is not
	// tested on kpipe's encoder alone.
	data := zData(3000)
	var gz bytes.Buffer
	gz.Write(refGzip(t, data, latin1RefHeader()))
	gz.Write(refGzip(t, data[:100], nil))
	return []struct {
		name   string
		comp   []byte
		expand func(io.Writer, io.Reader) (int64, error)
	}{
		{"gzip", gz.Bytes(), gunzipNil},
		{"zlib", refZlib(t, data), Inflate},
	}
}

// TestZlibTruncated cuts streams at every byte: each prefix fails with
// io.ErrUnexpectedEOF (never success, never another error), from memory and
// from a pipe; a cut between two gzip members is a complete stream.
func TestZlibTruncated(t *testing.T) {
	data := zData(3000)
	for _, c := range truncationCases(t) {
		var boundary int
		if c.name == "gzip" {
			boundary = len(refGzip(t, data, latin1RefHeader()))
		}
		for i := 0; i < len(c.comp); i++ {
			prefix := c.comp[:i]
			var out bytes.Buffer
			n, err := c.expand(&out, bytes.NewReader(prefix))
			if i == boundary && boundary > 0 {
				if err != nil || !bytes.Equal(out.Bytes(), data) {
					t.Fatalf("%s: cut between members: %d, %v", c.name, n, err)
				}
				continue
			}
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("%s: prefix of %d of %d bytes: %d, %v; want io.ErrUnexpectedEOF", c.name, i, len(c.comp), n, err)
			}
			if n != int64(out.Len()) {
				t.Fatalf("%s: prefix %d: returned %d, wrote %d", c.name, i, n, out.Len())
			}
			if i%7 == 0 {
				// Through descriptors too (every 7th, for time).
				_, n, err := gunzipPipe(t, prefix, c.expand)
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("%s: prefix of %d bytes from a pipe: %d, %v", c.name, i, n, err)
				}
			}
		}
	}
}

// TestZlibBadTrailer: a wrong CRC-32, ISIZE or Adler-32 is ErrChecksum.
func TestZlibBadTrailer(t *testing.T) {
	data := zData(5000)
	gz := refGzip(t, data, nil)
	zl := refZlib(t, data)
	mod := func(b []byte, f func(tail []byte)) []byte {
		c := append([]byte(nil), b...)
		f(c)
		return c
	}
	cases := []struct {
		name   string
		comp   []byte
		expand func(io.Writer, io.Reader) (int64, error)
	}{
		{"crc32", mod(gz, func(c []byte) { c[len(c)-8] ^= 0x10 }), gunzipNil},
		{"isize", mod(gz, func(c []byte) {
			binary.LittleEndian.PutUint32(c[len(c)-4:], uint32(len(data)+1))
		}), gunzipNil},
		{"adler32", mod(zl, func(c []byte) { c[len(c)-1] ^= 0x01 }), Inflate},
		{"second member", append(append([]byte(nil), gz...), mod(gz, func(c []byte) { c[len(c)-5] ^= 0x80 })...), gunzipNil},
	}
	for _, c := range cases {
		if _, _, err := gunzipBytesWith(c.comp, c.expand); !errors.Is(err, ErrChecksum) {
			t.Errorf("%s from memory: %v, want ErrChecksum", c.name, err)
		}
		if _, _, err := gunzipPipe(t, c.comp, c.expand); !errors.Is(err, ErrChecksum) {
			t.Errorf("%s from a pipe: %v, want ErrChecksum", c.name, err)
		}
	}
}

func gunzipBytesWith(comp []byte, expand func(io.Writer, io.Reader) (int64, error)) ([]byte, int64, error) {
	var out bytes.Buffer
	n, err := expand(&out, bytes.NewReader(comp))
	return out.Bytes(), n, err
}

// TestZlibBadHeader: bad magic, method, reserved flags, zlib check bits,
// window size and preset dictionaries are ErrHeader.
func TestZlibBadHeader(t *testing.T) {
	gz := refGzip(t, []byte("some data"), nil)
	zl := refZlib(t, []byte("some data"))
	set := func(b []byte, i int, v byte) []byte {
		c := append([]byte(nil), b...)
		c[i] = v
		return c
	}
	zlibHeader := func(b []byte, cmf, flg byte) []byte {
		// A valid FCHECK for the pair unless told otherwise.
		flg = flg &^ 0x1f
		flg |= byte(31 - (uint(cmf)<<8|uint(flg))%31)
		c := append([]byte(nil), b...)
		c[0], c[1] = cmf, flg
		return c
	}
	cases := []struct {
		name   string
		comp   []byte
		expand func(io.Writer, io.Reader) (int64, error)
	}{
		{"gzip ID1", set(gz, 0, 0x1e), gunzipNil},
		{"gzip ID2", set(gz, 1, 0x8c), gunzipNil},
		{"gzip method", set(gz, 2, 7), gunzipNil},
		{"gzip reserved flag 0x20", set(gz, 3, 0x20), gunzipNil},
		{"gzip reserved flag 0x80", set(gz, 3, 0x80), gunzipNil},
		{"not gzip at all", []byte("hello, world, this is plain text"), gunzipNil},
		{"zlib check bits", set(zl, 1, zl[1]^1), Inflate},
		{"zlib method", zlibHeader(zl, 0x77, 0x9c), Inflate},
		{"zlib window", zlibHeader(zl, 0x88, 0x9c), Inflate},
		{"zlib dictionary", zlibHeader(zl, 0x78, 0x9c|0x20), Inflate},
	}
	for _, c := range cases {
		if out, _, err := gunzipBytesWith(c.comp, c.expand); !errors.Is(err, ErrHeader) || len(out) != 0 {
			t.Errorf("%s from memory: %v, %d bytes out; want ErrHeader", c.name, err, len(out))
		}
		if _, _, err := gunzipPipe(t, c.comp, c.expand); !errors.Is(err, ErrHeader) {
			t.Errorf("%s from a pipe: %v, want ErrHeader", c.name, err)
		}
	}
}

// TestZlibTrailingGarbage: data after a complete stream that is not another
// member is ErrHeader, reported at once even while the source stays open
// (vitess' readers spin for ever there).
func TestZlibTrailingGarbage(t *testing.T) {
	data := zData(20_000)
	for _, f := range zFormats {
		comp := append(f.refComp(t, data), "garbage"...)
		if out, _, err := gunzipBytesWith(comp, f.expand); !errors.Is(err, ErrHeader) {
			t.Errorf("%s: %v, %d bytes out; want ErrHeader", f.name, err, len(out))
		}
		// Over TCP, with the writer keeping the connection open.
		c, s := tcpPair(t)
		if _, err := c.Write(comp); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := f.expand(io.Discard, s)
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, ErrHeader) {
				t.Errorf("%s over TCP: %v, want ErrHeader", f.name, err)
			}
		case <-time.After(10 * time.Second):
			s.Close()
			<-done
			t.Fatalf("%s: trailing garbage on an open connection: no answer in 10s", f.name)
		}
		c.Close()
	}
}

// TestZlibCorruptBody flips bits in the compressed body: every result is an
// error or, for bits deflate does not use, the original data; never short
// or different output with a nil error.
func TestZlibCorruptBody(t *testing.T) {
	data := zData(50_000)
	rng := rand.New(rand.NewSource(4))
	for _, f := range zFormats {
		comp := f.refComp(t, data)
		start := 2
		if f.name == "gzip" {
			start = 10
		}
		errs := 0
		for i := 0; i < 300; i++ {
			c := append([]byte(nil), comp...)
			pos := start + rng.Intn(len(c)-start)
			c[pos] ^= 1 << rng.Intn(8)
			out, n, err := gunzipBytesWith(c, f.expand)
			if err == nil && !bytes.Equal(out, data) {
				t.Fatalf("%s: bit flip at %d: nil error with %d bytes that differ", f.name, pos, n)
			}
			if err != nil {
				errs++
			}
			if i%10 == 0 {
				got, _, perr := gunzipPipe(t, c, f.expand)
				if (perr == nil) != (err == nil) || (perr == nil && !bytes.Equal(got, data)) {
					t.Fatalf("%s: bit flip at %d: %v from a pipe, %v from memory", f.name, pos, perr, err)
				}
			}
		}
		if errs < 250 {
			t.Fatalf("%s: only %d of 300 bit flips detected", f.name, errs)
		}
	}
	// A block of the reserved type 3 is invalid deflate data.
	bad := append(append([]byte(nil), refGzip(t, nil, nil)[:10]...), 0x07, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	if _, _, err := gunzipBytesWith(bad, gunzipNil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("reserved block type: %v, want ErrCorrupt", err)
	}
}
