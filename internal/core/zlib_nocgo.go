//go:build !(linux && cgo)

package core

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/adler32"
	"hash/crc32"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/klauspost/compress/flate"
)

// Builds without the C core compress with klauspost/compress's deflate,
// which measured faster than compress/flate (see the README), inside
// kpipe's own zlib and gzip framing: the header and trailer checks, the
// errors and the header handling are those of the C core.

// ZlibVersion implements kpipe.ZlibVersion, which documents it.
func ZlibVersion() string { return "" }

// CompressionEngine implements kpipe.CompressionEngine, which documents it.
func CompressionEngine() string { return "go" }

// zlibDefaultLevel is the level zlib's Z_DEFAULT_COMPRESSION stands for.
const zlibDefaultLevel = 6

// gzipOSUnix is the OS byte Gzip writes when it is given no header, as
// gzip(1) and the C core do on Unix.
const gzipOSUnix = 3

// The gzip header's fixed bytes and flags (RFC 1952).
const (
	gzID1, gzID2     = 0x1f, 0x8b
	gzMethodDeflate  = 8
	gzFlagHCRC       = 1 << 1
	gzFlagExtra      = 1 << 2
	gzFlagName       = 1 << 3
	gzFlagComment    = 1 << 4
	gzFlagsReserved  = 0xe0
	zlibFlagDict     = 1 << 5
	gzFixedLen       = 10
	gzTrailerLen     = 8
	zlibTrailerLen   = 4
	zlibWindowCINFO7 = 7
)

// flateWriters pools deflate compressors by level (index level+2: -2 and
// 1 to 9).
var flateWriters [BestCompression + 3]sync.Pool

func getFlateWriter(level int, w io.Writer) (*flate.Writer, error) {
	if fw, ok := flateWriters[level+2].Get().(*flate.Writer); ok {
		fw.Reset(w)
		return fw, nil
	}
	return flate.NewWriter(w, level)
}

var zBufReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 64<<10) }}

// zOutput is a destination that counts what it was given and stops at a
// limit (max < 0: none) with ErrTooLarge, having written up to the limit.
type zOutput struct {
	w   io.Writer
	n   int64
	max int64
}

func (o *zOutput) write(b []byte) error {
	if o.max >= 0 && o.n+int64(len(b)) > o.max {
		if err := o.writeAll(b[:o.max-o.n]); err != nil {
			return err
		}
		return ErrTooLarge
	}
	return o.writeAll(b)
}

func (o *zOutput) writeAll(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	n, err := o.w.Write(b)
	o.n += int64(n)
	if err == nil && n != len(b) {
		err = io.ErrShortWrite
	}
	return err
}

// Write lets the deflate compressor write into o.
func (o *zOutput) Write(b []byte) (int, error) {
	n0 := o.n
	err := o.write(b)
	return int(o.n - n0), err
}

func (c Codec) compress(dst io.Writer, src io.Reader, format zFormat, hdr *GzipHeader) (int64, error) {
	level, err := c.level()
	if err != nil {
		return 0, err
	}
	if level == DefaultCompression {
		level = zlibDefaultLevel
	}
	var head []byte
	var sum hash.Hash32
	if format == zFormatGzip {
		if head, err = gzipHeaderBytes(hdr, level); err != nil {
			return 0, err
		}
		sum = crc32.NewIEEE()
	} else {
		head = zlibHeaderBytes(level)
		sum = adler32.New()
	}
	out := &zOutput{w: dst, max: -1}
	if err := out.write(head); err != nil {
		return out.n, err
	}
	fw, err := getFlateWriter(level, out)
	if err != nil {
		return out.n, err
	}
	defer flateWriters[level+2].Put(fw)
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	var size uint32 // ISIZE: the input's length modulo 2^32
	for {
		n, rerr := src.Read(*bp)
		if n > 0 {
			sum.Write((*bp)[:n])
			size += uint32(n)
			if _, err := fw.Write((*bp)[:n]); err != nil {
				return out.n, err
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return out.n, rerr
		}
	}
	if err := fw.Close(); err != nil {
		return out.n, err
	}
	var trailer []byte
	if format == zFormatGzip {
		trailer = binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, sum.Sum32()), size)
	} else {
		trailer = binary.BigEndian.AppendUint32(nil, sum.Sum32())
	}
	return out.n, out.write(trailer)
}

// gzipHeaderBytes encodes a member header as zlib's deflate writes it: hdr
// nil is no name, comment, extra field or time, and OS 3 (Unix).
func gzipHeaderBytes(hdr *GzipHeader, level int) ([]byte, error) {
	return appendGzipHeader(nil, hdr, level)
}

// appendGzipHeader is gzipHeaderBytes appending to b.
func appendGzipHeader(b []byte, hdr *GzipHeader, level int) ([]byte, error) {
	h := GzipHeader{OS: gzipOSUnix}
	if hdr != nil {
		h = *hdr
	}
	nameLen, commentLen, mtime, err := checkHeader(&h)
	if err != nil {
		return nil, err
	}
	var flags byte
	if h.Extra != nil {
		flags |= gzFlagExtra
	}
	if h.Name != "" {
		flags |= gzFlagName
	}
	if h.Comment != "" {
		flags |= gzFlagComment
	}
	var xfl byte // XFL: 2 for the best compression, 4 for the fastest
	switch {
	case level == BestCompression:
		xfl = 2
	case level == HuffmanOnly || level < 2:
		xfl = 4
	}
	b = slices.Grow(b, gzFixedLen+2+len(h.Extra)+nameLen+1+commentLen+1)
	b = append(b, gzID1, gzID2, gzMethodDeflate, flags)
	b = binary.LittleEndian.AppendUint32(b, mtime)
	b = append(b, xfl, h.OS)
	if h.Extra != nil {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(h.Extra)))
		b = append(b, h.Extra...)
	}
	if h.Name != "" {
		b = append(appendLatin1(b, h.Name), 0)
	}
	if h.Comment != "" {
		b = append(appendLatin1(b, h.Comment), 0)
	}
	return b, nil
}

// zlibHeaderBytes encodes the two header bytes zlib writes at level: a
// 32 KiB window, no dictionary, and the level's FLEVEL.
func zlibHeaderBytes(level int) []byte {
	var flevel uint16
	switch {
	case level == HuffmanOnly || level < 2:
		flevel = 0
	case level < 6:
		flevel = 1
	case level == 6:
		flevel = 2
	default:
		flevel = 3
	}
	h := uint16(0x78)<<8 | flevel<<6
	h += 31 - h%31
	return []byte{byte(h >> 8), byte(h)}
}

func (c Codec) decompress(dst io.Writer, src io.Reader, format zFormat, hdr *GzipHeader) (int64, error) {
	maxOut := c.MaxOutput
	if maxOut <= 0 {
		maxOut = -1
	}
	br := zBufReaders.Get().(*bufio.Reader)
	br.Reset(src)
	defer func() {
		br.Reset(nil)
		zBufReaders.Put(br)
	}()
	d := zDecoder{in: br, out: zOutput{w: dst, max: maxOut}}
	var err error
	if format == zFormatGzip {
		err = d.gzipMembers(hdr)
	} else {
		err = d.zlibStream()
	}
	return d.out.n, err
}

// zDecoder decodes one call's input.
type zDecoder struct {
	in  *bufio.Reader
	out zOutput
}

// readByte reads one byte; end of input is io.ErrUnexpectedEOF, since a
// caller asks only for bytes the format says must come.
func (d *zDecoder) readByte() (byte, error) {
	b, err := d.in.ReadByte()
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return b, err
}

// readFull reads len(b) bytes that must come.
func (d *zDecoder) readFull(b []byte) error {
	_, err := io.ReadFull(d.in, b)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// zlibStream decodes one zlib stream, which must end at end of input.
func (d *zDecoder) zlibStream() error {
	cmf, err := d.readByte()
	if err != nil {
		return err
	}
	// CM 8, window at most 32 KiB (CINFO <= 7); each byte is checked as
	// it arrives, so that garbage fails at once.
	if cmf&0x0f != gzMethodDeflate || cmf>>4 > zlibWindowCINFO7 {
		return ErrHeader
	}
	flg, err := d.readByte()
	if err != nil {
		return err
	}
	if (uint(cmf)*256+uint(flg))%31 != 0 || flg&zlibFlagDict != 0 {
		return ErrHeader
	}
	sum := adler32.New()
	if _, err := d.inflate(sum); err != nil {
		return err
	}
	var trailer [zlibTrailerLen]byte
	if err := d.readFull(trailer[:]); err != nil {
		return err
	}
	if binary.BigEndian.Uint32(trailer[:]) != sum.Sum32() {
		return ErrChecksum
	}
	return d.atEnd()
}

// atEnd checks that the input ends here: anything more is ErrHeader.
func (d *zDecoder) atEnd() error {
	_, err := d.in.ReadByte()
	switch err {
	case nil:
		return ErrHeader
	case io.EOF:
		return nil
	}
	return err
}

// gzipMembers decodes member after member until end of input, and sets
// *hdr to the first member's header once it is read.
func (d *zDecoder) gzipMembers(hdr *GzipHeader) error {
	for member := 0; ; member++ {
		if member > 0 {
			if _, err := d.in.Peek(1); err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
		}
		h, err := d.gzipHeader(member == 0 && hdr != nil)
		if err != nil {
			return err
		}
		if member == 0 && hdr != nil {
			*hdr = h
		}
		sum := crc32.NewIEEE()
		size, err := d.inflate(sum)
		if err != nil {
			return err
		}
		var trailer [gzTrailerLen]byte
		if err := d.readFull(trailer[:]); err != nil {
			return err
		}
		if binary.LittleEndian.Uint32(trailer[:4]) != sum.Sum32() ||
			binary.LittleEndian.Uint32(trailer[4:]) != uint32(size) {
			return ErrChecksum
		}
	}
}

// gzipHeader reads and checks a member header; keep says to return its
// fields.
func (d *zDecoder) gzipHeader(keep bool) (GzipHeader, error) {
	var h GzipHeader
	var fixed [gzFixedLen]byte
	var seen []byte // every header byte before FHCRC, which covers them
	next := func() (byte, error) {
		b, err := d.readByte()
		if err == nil {
			seen = append(seen, b)
		}
		return b, err
	}
	for i := range fixed {
		b, err := next()
		if err != nil {
			return h, err
		}
		fixed[i] = b
		if i == 0 && b != gzID1 || i == 1 && b != gzID2 || i == 2 && b != gzMethodDeflate ||
			i == 3 && b&gzFlagsReserved != 0 {
			return h, ErrHeader
		}
	}
	flags := fixed[3]
	if flags&gzFlagExtra != 0 {
		lo, err := next()
		if err != nil {
			return h, err
		}
		hi, err := next()
		if err != nil {
			return h, err
		}
		extra := make([]byte, int(lo)|int(hi)<<8)
		for i := range extra {
			if extra[i], err = next(); err != nil {
				return h, err
			}
		}
		h.Extra = extra
	}
	for _, field := range [2]struct {
		flag byte
		dst  *string
	}{{gzFlagName, &h.Name}, {gzFlagComment, &h.Comment}} {
		if flags&field.flag == 0 {
			continue
		}
		var text []byte
		for n := 0; ; n++ {
			b, err := next()
			if err != nil {
				return h, err
			}
			if b == 0 {
				break
			}
			if n >= gzNameMax {
				return h, fmt.Errorf("%w: a name or comment longer than %d bytes", ErrHeader, gzNameMax)
			}
			if keep {
				text = append(text, b)
			}
		}
		*field.dst = latin1String(text)
	}
	if flags&gzFlagHCRC != 0 {
		var b [2]byte
		if err := d.readFull(b[:]); err != nil {
			return h, err
		}
		if binary.LittleEndian.Uint16(b[:]) != uint16(crc32.ChecksumIEEE(seen)) {
			return h, ErrHeader
		}
	}
	if mtime := binary.LittleEndian.Uint32(fixed[4:8]); mtime != 0 {
		h.ModTime = time.Unix(int64(mtime), 0)
	}
	h.OS = fixed[9]
	return h, nil
}

// inflate decodes deflate data up to its final block into the output,
// adding it to sum, and returns its length.
func (d *zDecoder) inflate(sum hash.Hash32) (int64, error) {
	// A new decoder for each stream. Decoders are not pooled:
	// klauspost/compress v1.18's Reset leaves state behind, and a stream
	// decoded by a reset decoder could get another error class than it
	// gets alone (an internal error, io.ErrUnexpectedEOF for data that is
	// not truncated, ErrChecksum for invalid data), after a failed stream
	// and after a valid one too (TestInvalidStreamsPairwise found both).
	fr := flate.NewReader(d.in)
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	var size int64
	for {
		n, err := fr.Read(*bp)
		if n > 0 {
			sum.Write((*bp)[:n])
			size += int64(n)
			if werr := d.out.write((*bp)[:n]); werr != nil {
				return size, werr
			}
		}
		if err == io.EOF {
			return size, nil
		}
		if err != nil {
			return size, flateError(err)
		}
	}
}

// flateError maps a deflate decoder's error to kpipe's classes: invalid
// data of any kind is ErrCorrupt, as zlib's Z_DATA_ERROR is in the build
// with the C core; truncation stays io.ErrUnexpectedEOF; a read error of
// the source passes as it is.
func flateError(err error) error {
	var corrupt flate.CorruptInputError
	var internal flate.InternalError
	switch {
	case errors.As(err, &corrupt):
		return fmt.Errorf("%w at input byte %d", ErrCorrupt, int64(corrupt))
	case errors.As(err, &internal):
		return fmt.Errorf("%w: %s", ErrCorrupt, string(internal))
	}
	return err
}

// zWorkers returns the compression worker threads alive in the process:
// none, as this build compresses on the calling goroutine.
func zWorkers() int64 { return 0 }
