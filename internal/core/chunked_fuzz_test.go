//go:build linux

package core

import (
	"bytes"
	"strconv"
	"testing"
)

// fuzzChunkMax bounds the chunk count of one FuzzSpliceChunks input, so
// that a one-byte ChunkSize over a large body stays cheap.
const fuzzChunkMax = 4096

// FuzzSpliceChunks frames fuzzed bodies with ChunkedTransfer, with
// SpliceChunks writing HTTP chunked framing of its own (fuzzed ChunkSize,
// prefix and trailer), and with SpliceChunks writing the tests' own framing,
// from every source kind (kernel pipes, sockets, files, memory) into every
// destination kind. The output must decode (net/http/httputil's chunked
// reader, or parseChunks) to the body, end with the last chunk and the
// trailer, announce no chunk of more than ChunkSize bytes, and the count
// returned must be the body's length.
func FuzzSpliceChunks(f *testing.F) {
	f.Add([]byte(""), uint8(0), uint8(0), uint8(0), int32(0), uint8(0), []byte(nil), false)
	f.Add([]byte("hello, world"), uint8(1), uint8(1), uint8(1), int32(5), uint8(0), []byte("HTTP/1.1 200 OK\r\n\r\n"), true)
	f.Add([]byte("x"), uint8(1), uint8(2), uint8(2), int32(1), uint8(3), []byte(nil), false)
	f.Add([]byte("0123456789abcdef"), uint8(2), uint8(3), uint8(3), int32(7), uint8(40), []byte("pre"), true)
	f.Add(testData(70000), uint8(0), uint8(0), uint8(0), int32(0), uint8(0), []byte(nil), false)
	f.Add(testData(4096), uint8(1), uint8(0), uint8(5), int32(65536), uint8(20), []byte(nil), true)
	f.Add(testData(4096), uint8(1), uint8(1), uint8(0), int32(65537), uint8(20), []byte(nil), false)
	f.Add(testData(1000), uint8(1), uint8(5), uint8(2), int32(4095), uint8(63), []byte(nil), false)
	f.Add([]byte("negative"), uint8(1), uint8(0), uint8(0), int32(-1), uint8(0), []byte(nil), false)
	f.Fuzz(func(t *testing.T, data []byte, mode, srcSel, dstSel uint8, chunk int32, rep uint8,
		prefix []byte, trailer bool) {
		data = bytes.Repeat(data, 1+int(rep)%64)
		data = data[:min(len(data), 1<<20)]
		size := int(chunk % (256 << 10))
		if size > 0 {
			data = data[:min(len(data), fuzzChunkMax*size)]
		} else if size == 0 {
			data = data[:min(len(data), fuzzChunkMax*DefaultChunkSize)]
		}
		sk := srcKinds[int(srcSel)%len(srcKinds)]
		dk := zDstKinds[int(dstSel)%len(zDstKinds)]
		src, srcWait := sk.open(t, data)
		dst, finish := dk.open(t)

		switch mode % 3 {
		case 0:
			n, err := ChunkedTransfer(dst, src)
			if err != nil || n != int64(len(data)) {
				t.Fatalf("ChunkedTransfer %s->%s = %d, %v; want %d", sk.name, dk.name, n, err, len(data))
			}
			if err := srcWait(); err != nil {
				t.Fatalf("feeding the source: %v", err)
			}
			checkHTTPChunked(t, finish(), data)

		case 1:
			var sizes []int
			posts := 0
			tr := ""
			if trailer {
				tr = "X-Body-Length: " + strconv.Itoa(len(data)) + "\r\n"
			}
			opt := ChunkOptions{
				Prefix: prefix,
				ChunkPrefix: func(n int) []byte {
					sizes = append(sizes, n)
					return []byte(strconv.FormatInt(int64(n), 16) + "\r\n")
				},
				ChunkPostfix: func(n int) []byte {
					if len(sizes) == 0 || sizes[len(sizes)-1] != n || posts != len(sizes)-1 {
						t.Errorf("ChunkPostfix(%d) after chunk prefixes %v", n, sizes[max(0, len(sizes)-3):])
					}
					posts++
					return []byte("\r\n")
				},
				Postfix:   []byte("0\r\n" + tr + "\r\n"),
				ChunkSize: size,
			}
			n, err := SpliceChunks(dst, src, opt)
			if size < 0 {
				if err == nil || n != 0 {
					t.Fatalf("SpliceChunks with ChunkSize %d = %d, %v; want an error", size, n, err)
				}
				return
			}
			if err != nil || n != int64(len(data)) {
				t.Fatalf("SpliceChunks %s->%s, ChunkSize %d = %d, %v; want %d", sk.name, dk.name, size, n, err, len(data))
			}
			if err := srcWait(); err != nil {
				t.Fatalf("feeding the source: %v", err)
			}
			out := finish()
			rest, ok := bytes.CutPrefix(out, prefix)
			if !ok {
				t.Fatalf("output does not start with the prefix %q: %q", prefix, head(out))
			}
			checkChunkedBody(t, rest, data, tr)
			limit := size
			if limit == 0 {
				limit = DefaultChunkSize
			}
			total := 0
			for i, k := range sizes {
				if k < 1 || k > limit {
					t.Fatalf("chunk %d announced %d bytes; ChunkSize %d", i, k, size)
				}
				total += k
			}
			if total != len(data) || posts != len(sizes) {
				t.Fatalf("%d chunks of %d bytes in all, %d postfixes; want %d bytes", len(sizes), total, posts, len(data))
			}

		case 2:
			if size < 0 {
				size = 0
			}
			n, err := SpliceChunks(dst, src, testChunkOptions(size))
			if err != nil || n != int64(len(data)) {
				t.Fatalf("SpliceChunks %s->%s, ChunkSize %d = %d, %v; want %d", sk.name, dk.name, size, n, err, len(data))
			}
			if err := srcWait(); err != nil {
				t.Fatalf("feeding the source: %v", err)
			}
			checkChunks(t, finish(), data, size)
		}
	})
}
