package core

import (
	"errors"
	"fmt"
	"io"
)

// Compression levels for Codec.Level, as in compress/flate.
const (
	// DefaultCompression is zlib's default level, 6; the zero Codec uses it.
	DefaultCompression = -1
	// BestSpeed is the fastest level.
	BestSpeed = 1
	// BestCompression is the level that compresses most.
	BestCompression = 9
	// HuffmanOnly skips string matching and only entropy-codes the input:
	// fast, and useful for data without repeats.
	HuffmanOnly = -2
)

var (
	// ErrHeader reports a zlib or gzip header that is not valid (bad magic,
	// method, flags or header CRC, a preset dictionary, a field too long),
	// or trailing data after the end of a stream that is not another gzip
	// member. Gzip also returns it, wrapped, for a GzipHeader it cannot
	// write.
	ErrHeader = errors.New("kpipe: invalid zlib or gzip header")
	// ErrChecksum reports a stream whose data does not match its trailer:
	// CRC-32 or ISIZE (gzip), Adler-32 (zlib).
	ErrChecksum = errors.New("kpipe: invalid checksum")
	// ErrCorrupt reports compressed data that is not valid deflate data.
	ErrCorrupt = errors.New("kpipe: invalid deflate data")
	// ErrTooLarge reports a decompression stopped because its output would
	// have passed Codec.MaxOutput.
	ErrTooLarge = errors.New("kpipe: decompressed data larger than Codec.MaxOutput")
)

// zFormat is the container around deflate data. The values are the C
// core's enum kp_z_format (bindings.go checks).
type zFormat int

const (
	zFormatZlib zFormat = 0 // RFC 1950
	zFormatGzip zFormat = 1 // RFC 1952
)

// Codec implements kpipe.Codec, which documents it.
type Codec struct {
	Level     int
	MaxOutput int64
	Threads   int
}

// Deflate implements kpipe.Deflate, which documents it.
func Deflate(dst io.Writer, src io.Reader) (int64, error) {
	return Codec{}.Deflate(dst, src)
}

// Inflate implements kpipe.Inflate, which documents it.
func Inflate(dst io.Writer, src io.Reader) (int64, error) {
	return Codec{}.Inflate(dst, src)
}

// Gzip implements kpipe.Gzip, which documents it.
func Gzip(dst io.Writer, src io.Reader, hdr *GzipHeader) (int64, error) {
	return Codec{}.Gzip(dst, src, hdr)
}

// Gunzip implements kpipe.Gunzip, which documents it.
func Gunzip(dst io.Writer, src io.Reader, hdr *GzipHeader) (int64, error) {
	return Codec{}.Gunzip(dst, src, hdr)
}

// Deflate implements kpipe.Codec.Deflate, which documents it.
func (c Codec) Deflate(dst io.Writer, src io.Reader) (int64, error) {
	return c.compress(dst, src, zFormatZlib, nil)
}

// Inflate implements kpipe.Codec.Inflate, which documents it.
func (c Codec) Inflate(dst io.Writer, src io.Reader) (int64, error) {
	return c.decompress(dst, src, zFormatZlib, nil)
}

// Gzip implements kpipe.Codec.Gzip, which documents it.
func (c Codec) Gzip(dst io.Writer, src io.Reader, hdr *GzipHeader) (int64, error) {
	return c.compress(dst, src, zFormatGzip, hdr)
}

// Gunzip implements kpipe.Codec.Gunzip, which documents it.
func (c Codec) Gunzip(dst io.Writer, src io.Reader, hdr *GzipHeader) (int64, error) {
	return c.decompress(dst, src, zFormatGzip, hdr)
}

// level returns the C stream's level for c.Level.
func (c Codec) level() (int, error) {
	if c.Threads < 0 {
		return 0, fmt.Errorf("kpipe: invalid Codec.Threads %d: want 0 or more", c.Threads)
	}
	switch {
	case c.Level == 0 || c.Level == DefaultCompression:
		return DefaultCompression, nil
	case c.Level == HuffmanOnly, c.Level >= BestSpeed && c.Level <= BestCompression:
		return c.Level, nil
	}
	return 0, fmt.Errorf("kpipe: invalid compression level %d: want 1 to 9, 0 or -1 (default), or -2 (Huffman only)", c.Level)
}
