//go:build linux

package core

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
)

// refCompCache holds reference compressions by format and size.
var refCompCache sync.Map // string -> []byte

func refCompressed(t testing.TB, f zFormatCase, size int) []byte {
	key := fmt.Sprintf("%s/%d", f.name, size)
	if v, ok := refCompCache.Load(key); ok {
		return v.([]byte)
	}
	b := f.refComp(t, zData(size))
	refCompCache.Store(key, b)
	return b
}

// verifiedComp holds, by format, level and size, a compression by kpipe
// that the reference decoder has already checked. kpipe's output does not
// depend on the endpoints, so a later pair that produces the same bytes
// needs no second decoding (the reference decoder is the slow part under
// the race detector); a pair that produces other bytes is decoded.
var verifiedComp sync.Map // string -> []byte

// zBigPair is the one endpoint pair each direction is tried with at
// zBigSize: descriptors on both sides, so that the C loop runs alone and
// waits for the socket many times.
func zBigPair(dir, src, dst string) bool {
	if dir == "compress" {
		return src == "file" && dst == "tcp"
	}
	return src == "tcp" && dst == "file"
}

// TestZlibEndpoints compresses with kpipe and decompresses with
// compress/gzip or compress/zlib, and the other way round, between every
// kind of source and destination, for sizes from empty to over a MiB (and
// 24 MiB on one pair, without quickSizes), checking the bytes and the
// returned counts.
func TestZlibEndpoints(t *testing.T) {
	sizes := zTestSizes
	if !quickSizes() {
		sizes = append(append([]int(nil), zTestSizes...), zBigSize)
	}
	for _, f := range zFormats {
		for _, dir := range []string{"compress", "expand"} {
			for _, sk := range zSrcKinds {
				for _, dk := range zDstKinds {
					for _, size := range sizes {
						if size == zBigSize && !zBigPair(dir, sk.name, dk.name) ||
							size == 1<<20+7 && !zMiBPair(sk.name, dk.name) {
							continue
						}
						name := fmt.Sprintf("%s/%s/%s->%s/%d", f.name, dir, sk.name, dk.name, size)
						t.Run(name, func(t *testing.T) {
							if dir == "compress" {
								checkCompress(t, f, sk, dk, size)
							} else {
								checkExpand(t, f, sk, dk, size)
							}
						})
					}
				}
			}
		}
	}
}

// zMiBPair says which pairs the 1 MiB size runs on: every kind paired with
// a file on the other side, and every pair without quickSizes. Small sizes
// run on every pair.
func zMiBPair(src, dst string) bool {
	return !quickSizes() || src == "file" || dst == "file"
}

// checkCompress compresses size bytes from sk to dk and checks the result
// with the reference decoder.
func checkCompress(t *testing.T, f zFormatCase, sk srcKind, dk zDstKind, size int) {
	data := zData(size)
	src, wait := sk.open(t, data)
	dst, finish := dk.open(t)
	// Large inputs at the fastest level: this test is about endpoints,
	// and the machines running it are small.
	n, err := f.codec(Codec{Level: refLevel(size)}, dst, src)
	if err != nil {
		t.Fatalf("compress: %d, %v", n, err)
	}
	if err := wait(); err != nil {
		t.Fatalf("feeder: %v", err)
	}
	got := finish()
	if n != int64(len(got)) {
		t.Fatalf("compress returned %d, the destination received %d bytes", n, len(got))
	}
	key := fmt.Sprintf("%s/%d/%d", f.name, refLevel(size), size)
	if v, ok := verifiedComp.Load(key); ok && bytes.Equal(v.([]byte), got) {
		return
	}
	out, err := f.refExp(got)
	if err != nil {
		t.Fatalf("reference decoder: %v", err)
	}
	if !bytes.Equal(out, data) {
		t.Fatalf("reference decoder got %d bytes, not the %d bytes compressed", len(out), len(data))
	}
	verifiedComp.Store(key, got)
}

// checkExpand decompresses the reference compression of size bytes from sk
// to dk.
func checkExpand(t *testing.T, f zFormatCase, sk srcKind, dk zDstKind, size int) {
	data := zData(size)
	src, wait := sk.open(t, refCompressed(t, f, size))
	dst, finish := dk.open(t)
	n, err := f.expand(dst, src)
	if err != nil {
		t.Fatalf("expand: %d, %v", n, err)
	}
	if err := wait(); err != nil {
		t.Fatalf("feeder: %v", err)
	}
	got := finish()
	if n != int64(len(got)) {
		t.Fatalf("expand returned %d, the destination received %d bytes", n, len(got))
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("expand delivered %d bytes that differ from the %d bytes compressed", len(got), len(data))
	}
}
