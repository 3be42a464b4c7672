package core

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strings"
	"testing"
)

// Invalid compressed input gets the same error class whatever was decoded
// before it, and the same class in every build: the build with the C core
// (zlib) and the one without (klauspost/compress), both checked against
// one golden file.

var updateGolden = flag.Bool("update-invalid-golden", false, "rewrite testdata/invalid-streams.golden from this build's results")

const invalidGolden = "testdata/invalid-streams.golden"

// invalidStream is one invalid input for Inflate or Gunzip.
type invalidStream struct {
	name string
	gzip bool
	data []byte
}

// invalidStreams returns the corpus: every stream of
// testdata/invalid-deflate.txt in zlib and in gzip framing, and
// deterministic corruptions and truncations of valid streams.
func invalidStreams(t testing.TB) []invalidStream {
	t.Helper()
	f, err := os.Open("testdata/invalid-deflate.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []invalidStream
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if text == "" || text[0] == '#' {
			continue
		}
		hexBody, _, _ := strings.Cut(text, " ")
		body, err := hex.DecodeString(hexBody)
		if err != nil {
			t.Fatalf("invalid-deflate.txt:%d: %v", line, err)
		}
		out = append(out,
			invalidStream{name: fmt.Sprintf("flate%d/zlib", line), data: zlibFrame(body)},
			invalidStream{name: fmt.Sprintf("flate%d/gzip", line), gzip: true, data: gzipFrame(body)})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	// Byte flips in dynamic-Huffman, fixed-Huffman and stored streams,
	// and truncations of a valid one.
	text := invalidCorpusText()
	for _, level := range []int{zlib.NoCompression, zlib.BestSpeed, zlib.DefaultCompression, zlib.HuffmanOnly} {
		var buf bytes.Buffer
		zw, _ := zlib.NewWriterLevel(&buf, level)
		zw.Write(text[:1500])
		zw.Close()
		valid := buf.Bytes()
		for pos := 2; pos < len(valid)-4; pos += max(1, (len(valid)-6)/12) {
			for _, mask := range []byte{0x01, 0x80, 0xff} {
				b := bytes.Clone(valid)
				b[pos] ^= mask
				if zr, err := zlib.NewReader(bytes.NewReader(b)); err == nil {
					if _, err := io.Copy(io.Discard, zr); err == nil {
						continue // a padding bit: still valid
					}
				}
				out = append(out, invalidStream{name: fmt.Sprintf("flip/L%d/%d^%02x", level, pos, mask), data: b})
			}
		}
		for _, cut := range []int{1, 2, 3, len(valid) / 2, len(valid) - 4, len(valid) - 1} {
			out = append(out, invalidStream{name: fmt.Sprintf("cut/L%d/%d", level, cut), data: valid[:cut]})
		}
	}
	return out
}

// invalidCorpusText is compressible text for the corrupted streams.
func invalidCorpusText() []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < 4096; i++ {
		fmt.Fprintf(&b, "line %d: the quick brown fox %d jumps over the lazy dog %d\n", i, i*i%97, i%13)
	}
	return b.Bytes()
}

// zlibFrame wraps a raw deflate body in a zlib header and a trailer whose
// Adler-32 is wrong for any output (a decoder that misses the body's fault
// reports ErrChecksum, never success).
func zlibFrame(body []byte) []byte {
	return append(append([]byte{0x78, 0x9c}, body...), 0, 0, 0, 0)
}

// gzipFrame wraps a raw deflate body in a minimal gzip member, with a
// trailer that is wrong for any output but an empty one.
func gzipFrame(body []byte) []byte {
	b := append([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3}, body...)
	b = binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE([]byte("x")))
	return binary.LittleEndian.AppendUint32(b, 1)
}

// errorClass names the class of a decoding error, as callers tell them
// apart with errors.Is.
func errorClass(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrCorrupt):
		return "corrupt"
	case errors.Is(err, ErrHeader):
		return "header"
	case errors.Is(err, ErrChecksum):
		return "checksum"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated"
	}
	return "other: " + err.Error()
}

func decodeClass(s invalidStream) string {
	var err error
	if s.gzip {
		_, err = Gunzip(io.Discard, bytes.NewReader(s.data), nil)
	} else {
		_, err = Inflate(io.Discard, bytes.NewReader(s.data))
	}
	return errorClass(err)
}

// TestInvalidStreamsPairwise decodes every invalid stream alone and after
// every other one: the class must not change, must be one of kpipe's
// documented classes, and must be the golden file's (the same in the build
// with the C core and the one without).
func TestInvalidStreamsPairwise(t *testing.T) {
	streams := invalidStreams(t)
	alone := make([]string, len(streams))
	for i, s := range streams {
		alone[i] = decodeClass(s)
		if alone[i] == "ok" || strings.HasPrefix(alone[i], "other") {
			t.Errorf("%s: %s; want ErrCorrupt, ErrHeader, ErrChecksum or io.ErrUnexpectedEOF", s.name, alone[i])
		}
	}
	if *updateGolden {
		var b strings.Builder
		b.WriteString("# The error class of each invalid stream of zcorrupt_test.go, decoded alone.\n# Written by go test -run TestInvalidStreamsPairwise -update-invalid-golden.\n")
		for i, s := range streams {
			fmt.Fprintf(&b, "%s %s\n", s.name, alone[i])
		}
		if err := os.WriteFile(invalidGolden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	golden := readInvalidGolden(t)
	if len(golden) != len(streams) {
		t.Fatalf("%s has %d streams, the corpus %d: rerun with -update-invalid-golden", invalidGolden, len(golden), len(streams))
	}
	for i, s := range streams {
		if golden[s.name] != alone[i] {
			t.Errorf("%s: %s in this build (%s), %s in %s", s.name, alone[i], Implementation(), golden[s.name], invalidGolden)
		}
	}
	pairs := 0
	for i, first := range streams {
		for j, second := range streams {
			if quickSizes() && (i+j)%3 != 0 {
				continue // a third of the pairs under race and -short
			}
			decodeClass(first)
			if got := decodeClass(second); got != alone[j] {
				t.Errorf("%s after %s: %s; alone %s", second.name, first.name, got, alone[j])
			}
			pairs++
		}
	}
	t.Logf("%d streams, %d pairs", len(streams), pairs)
}

func readInvalidGolden(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(invalidGolden)
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[string]string)
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		name, class, _ := strings.Cut(line, " ")
		m[name] = class
	}
	return m
}
