package kpipe

import (
	"io"
	"time"

	"github.com/kpipe/kpipe/internal/core"
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
	ErrHeader = core.ErrHeader
	// ErrChecksum reports a stream whose data does not match its trailer:
	// CRC-32 or ISIZE (gzip), Adler-32 (zlib).
	ErrChecksum = core.ErrChecksum
	// ErrCorrupt reports compressed data that is not valid deflate data.
	ErrCorrupt = core.ErrCorrupt
	// ErrTooLarge reports a decompression stopped because its output would
	// have passed Codec.MaxOutput.
	ErrTooLarge = core.ErrTooLarge
)

// Codec compresses and decompresses with chosen settings. The zero Codec
// is what the package functions Deflate, Inflate, Gzip and Gunzip use:
// level 6, no output limit. A Codec is a plain value, safe for concurrent
// use.
//
// With the C core (Linux with cgo) the zlib state and buffers are pooled
// and reused from call to call: between descriptors a call allocates
// nothing on the Go heap. Elsewhere the same formats, errors and header
// handling come from a Go implementation (see Implementation).
type Codec struct {
	// Level is the compression level: BestSpeed (1) to BestCompression
	// (9), HuffmanOnly (-2), or 0 or DefaultCompression (-1) for the
	// default, 6. Unlike compress/flate, 0 does not mean "store": it is the
	// zero value. Other values make the compressing methods fail.
	//
	// Each level runs on the engine that is fastest at its ratio (see
	// CompressionEngine; the figures are MB/s on one core at size ratio,
	// on a tar of Go's source, where zlib's levels 1, 6 and 9 give 112
	// @3.67, 38 @4.41 and 13 @4.45):
	//
	//	level  engine                      MB/s @ ratio
	//	1-3    ISA-L's levels 1-3          570 @3.75, 490 @3.79, 340 @3.94
	//	4-9    libdeflate's 5, 6, 7, 8,    126 @4.43, 101 @4.48, 77 @4.51,
	//	       9 and 10                    45 @4.54, 36 @4.54, 12 @4.70
	//
	// Each level is smaller than the one before it. libdeflate compresses
	// a whole input in one call, so it runs where the input's size is
	// known when the call starts and is at most 256 MiB: a *bytes.Reader,
	// *strings.Reader or *bytes.Buffer, or an *os.File that is a regular
	// file. Other sources (pipes, sockets, other readers), and input that
	// turns out longer, run on zlib at the same level, which streams; so
	// does every level where a library is missing, and HuffmanOnly. The
	// engines write different bytes; for a given input, level and
	// engine the bytes are the same whatever the reads.
	//
	// Memory, in C and pooled between calls: about 1.1 MiB per stream
	// (two 128 KiB buffers and the engine's state: ISA-L's about 850 KiB,
	// zlib's under 300 KiB), and while libdeflate runs, the input and the
	// output whole (up to twice the input's size, given back when the call
	// ends).
	Level int
	// MaxOutput, when > 0, bounds what Inflate and Gunzip write: rather
	// than write byte MaxOutput+1 they stop with ErrTooLarge, having
	// written exactly the first MaxOutput bytes of the output (in every
	// build), and return MaxOutput. 0 means no limit.
	MaxOutput int64
	// Threads is how many threads may compress one stream (Deflate and
	// Gzip): 0 or 1 for one, the calling thread, which is the default
	// because a server that compresses many responses at once already
	// keeps its cores busy, one call on each. With Threads > 1 and a
	// level zlib or libdeflate runs (all but 1 to 3 where ISA-L runs: its
	// one thread is faster than zlib on several), the input is cut into 1
	// MiB blocks compressed by up to Threads C threads while the calling
	// thread reads and writes, pigz's way; the output is still one stream
	// (one gzip member), and libdeflate runs at levels 4 to 9 on every
	// source. Its bytes depend on the data and level alone, not on Threads
	// (> 1), the reads or the engine's timing; they differ from the one-
	// thread output, a little larger (about 0.3%). Each thread holds about
	// 4.5 MiB while the call runs; threads start as blocks come (a small
	// input starts one) and are gone when the call returns, whether it
	// succeeded, failed or was cancelled. Builds without the C core use one
	// thread. Negative values make the compressing methods fail.
	Threads int
}

// GzipHeader holds the fields of a gzip member header (RFC 1952) that Gzip
// writes and Gunzip reads. Name and Comment travel as Latin-1 (ISO 8859-1),
// as in compress/gzip: Gzip accepts only runes up to U+00FF and no NUL, and
// Gunzip decodes to UTF-8, so that headers round-trip with compress/gzip and
// gzip(1).
type GzipHeader struct {
	Name    string    // FNAME, the original file name; "": none
	Comment string    // FCOMMENT; "": none
	ModTime time.Time // MTIME, in whole seconds; the zero Time (or any time up to 1970-01-01 00:00:00 UTC): none
	Extra   []byte    // FEXTRA, up to 65,535 bytes; nil: none (non-nil and empty: an empty field)
	OS      byte      // the OS field: 3 is Unix, 255 unknown
}

// Deflate compresses src into dst in the zlib format (RFC 1950) at
// Codec{}'s level, until src reaches end of input. See Codec.Deflate.
func Deflate(dst io.Writer, src io.Reader) (int64, error) {
	return core.Deflate(dst, src)
}

// Inflate decompresses a zlib stream (RFC 1950) from src into dst. See
// Codec.Inflate.
func Inflate(dst io.Writer, src io.Reader) (int64, error) {
	return core.Inflate(dst, src)
}

// Gzip compresses src into dst as one gzip member (RFC 1952) with header
// hdr (nil: no name, comment or extra field, no modification time, OS 3
// for Unix). See Codec.Gzip.
func Gzip(dst io.Writer, src io.Reader, hdr *GzipHeader) (int64, error) {
	return core.Gzip(dst, src, (*core.GzipHeader)(hdr))
}

// Gunzip decompresses gzip data from src into dst, every member until end
// of input, and fills *hdr, when hdr is not nil, with the first member's
// header. See Codec.Gunzip.
func Gunzip(dst io.Writer, src io.Reader, hdr *GzipHeader) (int64, error) {
	return core.Gunzip(dst, src, (*core.GzipHeader)(hdr))
}

// Deflate compresses src into dst in the zlib format (RFC 1950) at c.Level
// until src reaches end of input, and returns the bytes written to dst.
//
// src may be an *os.File, a *net.TCPConn, a *net.UnixConn, any other
// syscall.Conn, a *Pipe, a *bytes.Reader, *strings.Reader or *bytes.Buffer
// (read in place, and advanced), or any io.Reader; dst a descriptor as
// above, a *bytes.Buffer (written in place) or any io.Writer, which must not
// keep the slices it is given. Between two descriptors the whole loop runs
// in C; waiting on a non-blocking descriptor parks the goroutine in Go's
// runtime poller (and honours that descriptor's deadline), while a
// descriptor in blocking mode (a terminal, a regular file, an inherited
// pipe) blocks the thread as a read or write on it would. Errors from the
// descriptors wrap their errno (errors.Is(err, syscall.EPIPE)); errors of
// other readers and writers are returned as they are.
func (c Codec) Deflate(dst io.Writer, src io.Reader) (int64, error) {
	return core.Codec(c).Deflate(dst, src)
}

// Inflate decompresses one zlib stream (RFC 1950) from src into dst and
// returns the bytes written to dst. The stream must end exactly at the end
// of input: anything after it is ErrHeader. Truncated input is
// io.ErrUnexpectedEOF (empty input too), a bad Adler-32 ErrChecksum,
// invalid data ErrCorrupt, a preset dictionary ErrHeader, and output that
// would pass c.MaxOutput ErrTooLarge. Endpoints are as for Codec.Deflate.
func (c Codec) Inflate(dst io.Writer, src io.Reader) (int64, error) {
	return core.Codec(c).Inflate(dst, src)
}

// Gzip compresses src into dst as one gzip member (RFC 1952) at c.Level
// and returns the bytes written to dst. The member's header holds hdr's
// fields, OS included as given (so GzipHeader{} writes OS 0, as
// compress/gzip does with a zero Header); a nil hdr writes no name, comment
// or extra field, no modification time, and OS 3 (Unix), as gzip(1) does.
// A header that cannot be written (see GzipHeader) is an error wrapping
// ErrHeader, returned before anything is read or written. Empty input
// makes a valid member of empty data. Endpoints are as for Codec.Deflate.
func (c Codec) Gzip(dst io.Writer, src io.Reader, hdr *GzipHeader) (int64, error) {
	return core.Codec(c).Gzip(dst, src, (*core.GzipHeader)(hdr))
}

// Gunzip decompresses gzip data from src into dst and returns the bytes
// written to dst. Like gzip(1) it reads member after member until end of
// input and writes their data one after the other. It checks every header
// (magic, method, reserved flags, header CRC: ErrHeader) and trailer (CRC-32
// and ISIZE: ErrChecksum); input that ends anywhere inside a member, or
// empty input, is io.ErrUnexpectedEOF; data after a member that is not the
// start of another is ErrHeader, reported as soon as its first byte is
// read; invalid deflate data is ErrCorrupt, and output that would pass
// c.MaxOutput ErrTooLarge. With hdr not nil, *hdr is set to the first
// member's header once that is read, even when the call fails later (it is
// left alone otherwise). Endpoints are as for Codec.Deflate.
func (c Codec) Gunzip(dst io.Writer, src io.Reader, hdr *GzipHeader) (int64, error) {
	return core.Codec(c).Gunzip(dst, src, (*core.GzipHeader)(hdr))
}
