//go:build linux

package core

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// The fuzz targets decode arbitrary input with kpipe and with the standard
// library and require that they agree: whatever kpipe accepts the standard
// library decodes to the same bytes, and a single member the standard
// library accepts whole kpipe accepts too. Each input is also decoded in
// small pieces (a byte at a time when it is short), which must give the
// same result as all at once.

// fuzzMaxOutput bounds decompression so that bombs stay cheap.
const fuzzMaxOutput = 1 << 22

// fuzzSeeds adds valid, truncated, corrupt and padded streams made by
// compress.
func fuzzSeeds(f *testing.F, compress func(data []byte) []byte) {
	for _, data := range [][]byte{nil, []byte("a"), []byte("hello, hello, hello, world"), zData(5000)} {
		c := compress(data)
		f.Add(c)
		f.Add(c[:len(c)/2])
		f.Add(c[:len(c)-1])
		flipped := append([]byte(nil), c...)
		flipped[len(c)/2] ^= 0x10
		f.Add(flipped)
		f.Add(append(append([]byte(nil), c...), 0))
		f.Add(append(append([]byte(nil), c...), c...))
	}
	f.Add([]byte{})
}

// decodeBoth runs decode from memory and from a one-byte-at-a-time reader
// and fails unless both give the same bytes and the same error.
func decodeBoth(t *testing.T, comp []byte, decode func(dst io.Writer, src io.Reader) (int64, error)) ([]byte, error) {
	var out bytes.Buffer
	n, err := decode(&out, bytes.NewReader(comp))
	if n != int64(out.Len()) {
		t.Fatalf("returned %d, wrote %d", n, out.Len())
	}
	if err == nil && out.Len() > fuzzMaxOutput {
		t.Fatalf("wrote %d bytes, past the limit", out.Len())
	}
	var slow bytes.Buffer
	var pieces io.Reader = &chunkReader{r: bytes.NewReader(comp), n: 13}
	if len(comp) <= 1024 {
		pieces = iotest.OneByteReader(bytes.NewReader(comp))
	}
	n2, err2 := decode(&slow, pieces)
	if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) ||
		(err == nil && !bytes.Equal(out.Bytes(), slow.Bytes())) {
		t.Fatalf("all at once: %d, %v; in small pieces: %d, %v", n, err, n2, err2)
	}
	if err != nil && !errors.Is(err, ErrHeader) && !errors.Is(err, ErrChecksum) && !errors.Is(err, ErrCorrupt) &&
		!errors.Is(err, ErrTooLarge) && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("unexpected error %v", err)
	}
	return out.Bytes(), err
}

// chunkReader reads at most n bytes at a time from r.
type chunkReader struct {
	r io.Reader
	n int
}

func (c *chunkReader) Read(b []byte) (int, error) {
	return c.r.Read(b[:min(len(b), c.n)])
}

// readLimited reads r to its end or one byte past fuzzMaxOutput.
func readLimited(r io.Reader) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r, fuzzMaxOutput+1))
}

func FuzzGunzip(f *testing.F) {
	fuzzSeeds(f, func(data []byte) []byte {
		var buf bytes.Buffer
		h := latin1Header
		Gzip(&buf, bytes.NewReader(data), &h)
		return buf.Bytes()
	})
	fuzzSeeds(f, func(data []byte) []byte { return refGzip(f, data, nil) })
	codec := Codec{MaxOutput: fuzzMaxOutput}
	f.Fuzz(func(t *testing.T, comp []byte) {
		out, err := decodeBoth(t, comp, func(dst io.Writer, src io.Reader) (int64, error) {
			return codec.Gunzip(dst, src, nil)
		})

		// The standard library on the whole input, every member.
		var ref []byte
		zr, rerr := gzip.NewReader(bytes.NewReader(comp))
		if rerr == nil {
			ref, rerr = readLimited(zr)
		}
		if err == nil {
			if rerr != nil {
				if errors.Is(rerr, gzip.ErrHeader) {
					// compress/gzip bounds names and comments at 511
					// bytes, kpipe at 4096.
					return
				}
				t.Fatalf("kpipe decoded %d bytes, compress/gzip failed: %v", len(out), rerr)
			}
			if !bytes.Equal(out, ref) {
				t.Fatalf("kpipe decoded %d bytes, compress/gzip %d other bytes", len(out), len(ref))
			}
		}

		// The standard library on one member that takes the whole input,
		// unless reserved flag bits are set: RFC 1952 has decoders reject
		// them, as kpipe and gzip(1) do, but compress/gzip ignores them.
		if len(comp) > 3 && comp[3]&0xe0 != 0 {
			return
		}
		br := bytes.NewReader(comp)
		zr, rerr = gzip.NewReader(br)
		if rerr != nil {
			return
		}
		zr.Multistream(false)
		ref, rerr = readLimited(zr)
		if rerr == nil && br.Len() == 0 && len(ref) <= fuzzMaxOutput {
			if err != nil || !bytes.Equal(out, ref) {
				t.Fatalf("compress/gzip decoded the member to %d bytes, kpipe: %d bytes, %v", len(ref), len(out), err)
			}
		}
	})
}

func FuzzInflate(f *testing.F) {
	fuzzSeeds(f, func(data []byte) []byte {
		var buf bytes.Buffer
		Deflate(&buf, bytes.NewReader(data))
		return buf.Bytes()
	})
	fuzzSeeds(f, func(data []byte) []byte { return refZlib(f, data) })
	codec := Codec{MaxOutput: fuzzMaxOutput}
	f.Fuzz(func(t *testing.T, comp []byte) {
		out, err := decodeBoth(t, comp, codec.Inflate)
		br := bytes.NewReader(comp)
		var ref []byte
		zr, rerr := zlib.NewReader(br)
		if rerr == nil {
			ref, rerr = readLimited(zr)
		}
		// compress/zlib stops at the end of the stream; kpipe requires
		// it to be the end of input.
		whole := rerr == nil && br.Len() == 0 && len(ref) <= fuzzMaxOutput
		if err == nil && (!whole || !bytes.Equal(out, ref)) {
			t.Fatalf("kpipe decoded %d bytes; compress/zlib %d bytes, %v, %d bytes left", len(out), len(ref), rerr, br.Len())
		}
		if whole && err != nil {
			t.Fatalf("compress/zlib decoded %d bytes; kpipe failed: %v", len(ref), err)
		}
	})
}

func FuzzGzipRoundTrip(f *testing.F) {
	f.Add([]byte(""), int8(0))
	f.Add([]byte("hello, hello"), int8(9))
	f.Add(zData(3000), int8(-2))
	f.Fuzz(func(t *testing.T, data []byte, level int8) {
		c := Codec{Level: int(level)%11 - 1} // -2..9... and 10 sometimes refused
		if c.Level < -2 {
			c.Level = -2
		}
		var comp bytes.Buffer
		n, err := c.Gzip(&comp, bytes.NewReader(data), nil)
		if c.Level > 9 {
			if err == nil {
				t.Fatalf("level %d accepted", c.Level)
			}
			return
		}
		if err != nil || n != int64(comp.Len()) {
			t.Fatalf("Gzip = %d, %v", n, err)
		}
		var out bytes.Buffer
		if _, err := Gunzip(&out, bytes.NewReader(comp.Bytes()), nil); err != nil || !bytes.Equal(out.Bytes(), data) {
			t.Fatalf("Gunzip(Gzip(%d bytes)) = %d bytes, %v", len(data), out.Len(), err)
		}
		ref, _, err := refGunzip(comp.Bytes())
		if err != nil || !bytes.Equal(ref, data) {
			t.Fatalf("compress/gzip: %d bytes, %v", len(ref), err)
		}
		// The streaming engine (a reader of unknown size) and the
		// threads' blocks decode to the same data.
		for _, c := range []Codec{c, {Level: c.Level, Threads: 2}} {
			comp.Reset()
			if _, err := c.Gzip(&comp, plainReader{bytes.NewReader(data)}, nil); err != nil {
				t.Fatalf("%+v from a stream: %v", c, err)
			}
			if ref, _, err := refGunzip(comp.Bytes()); err != nil || !bytes.Equal(ref, data) {
				t.Fatalf("%+v from a stream: compress/gzip: %d bytes, %v", c, len(ref), err)
			}
		}
	})
}
