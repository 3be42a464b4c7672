package core

import (
	"errors"
	"fmt"
	"io"
)

// The levels and errors of kpipe's zlib.go, which documents them.
const (
	DefaultCompression = -1
	BestSpeed          = 1
	BestCompression    = 9
	HuffmanOnly        = -2
)

var (
	ErrHeader   = errors.New("kpipe: invalid zlib or gzip header")
	ErrChecksum = errors.New("kpipe: invalid checksum")
	ErrCorrupt  = errors.New("kpipe: invalid deflate data")
	ErrTooLarge = errors.New("kpipe: decompressed data larger than Codec.MaxOutput")
)

// zFormat is the container around deflate data. The values are the C
// core's enum kp_z_format (bindings_cgo.go checks).
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
