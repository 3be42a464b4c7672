package kpipe

// #include "kpipe.h"
import "C"

import (
	"fmt"
	"math"
	"time"
	"unicode/utf8"
	"unsafe"
)

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

// gzipOSUnix is the OS byte Gzip writes when it is given no header, as
// gzip(1) does on Unix.
const gzipOSUnix = 3

// setHeader converts h into the context's C header, copying its fields
// into the context's C scratch memory (kp_z_reset copies them again, so the
// scratch is free once the reset is done).
func (zs *zstream) setHeader(h *GzipHeader) (*C.kp_gz_header, error) {
	nameLen, err := latin1Len(h.Name, "Name")
	if err != nil {
		return nil, err
	}
	commentLen, err := latin1Len(h.Comment, "Comment")
	if err != nil {
		return nil, err
	}
	if len(h.Extra) > C.KP_GZ_EXTRA_MAX {
		return nil, fmt.Errorf("%w: Extra is %d bytes, more than %d", ErrHeader, len(h.Extra), C.KP_GZ_EXTRA_MAX)
	}
	var mtime uint32
	if h.ModTime.After(time.Unix(0, 0)) {
		t := h.ModTime.Unix()
		if t > math.MaxUint32 {
			return nil, fmt.Errorf("%w: ModTime %v is past what gzip can hold (2106)", ErrHeader, h.ModTime)
		}
		mtime = uint32(t)
	}
	mem, err := zs.scratch(nameLen + commentLen + len(h.Extra))
	if err != nil {
		return nil, err
	}
	base := unsafe.Pointer(unsafe.SliceData(mem))
	c := &zs.c.hdr
	*c = C.kp_gz_header{mtime: C.uint32_t(mtime), os: C.uint8_t(h.OS)}
	if h.Name != "" {
		putLatin1(mem, h.Name)
		c.name, c.name_len = (*C.uint8_t)(base), C.uint32_t(nameLen)
	}
	if h.Comment != "" {
		putLatin1(mem[nameLen:], h.Comment)
		c.comment, c.comment_len = (*C.uint8_t)(unsafe.Add(base, nameLen)), C.uint32_t(commentLen)
	}
	if h.Extra != nil {
		copy(mem[nameLen+commentLen:], h.Extra)
		c.extra, c.extra_len = (*C.uint8_t)(unsafe.Add(base, nameLen+commentLen)), C.uint32_t(len(h.Extra))
	}
	return c, nil
}

// latin1Len returns the length of s in Latin-1, or an error when s holds a
// rune Latin-1 cannot encode, a NUL (which ends the field on the wire), or
// is longer than a reader accepts.
func latin1Len(s, field string) (int, error) {
	n := 0
	for _, r := range s {
		// Invalid UTF-8 comes as utf8.RuneError, above 0xFF too.
		if r == 0 || r > 0xFF {
			if r == 0 {
				return 0, fmt.Errorf("%w: %s holds a NUL byte", ErrHeader, field)
			}
			return 0, fmt.Errorf("%w: %s holds %U, which Latin-1 cannot encode", ErrHeader, field, r)
		}
		n++
	}
	if n > C.KP_GZ_NAME_MAX {
		return 0, fmt.Errorf("%w: %s is %d bytes in Latin-1, more than %d", ErrHeader, field, n, C.KP_GZ_NAME_MAX)
	}
	return n, nil
}

// putLatin1 writes s, already checked by latin1Len, as Latin-1 into b.
func putLatin1(b []byte, s string) {
	i := 0
	for _, r := range s {
		b[i] = byte(r)
		i++
	}
}

// fillHeader sets *h from a header the C side parsed.
func fillHeader(h *GzipHeader, c *C.kp_gz_header) {
	*h = GzipHeader{OS: byte(c.os)}
	if c.name != nil {
		h.Name = latin1String(cBytes(c.name, c.name_len))
	}
	if c.comment != nil {
		h.Comment = latin1String(cBytes(c.comment, c.comment_len))
	}
	if c.extra != nil {
		h.Extra = append(make([]byte, 0, int(c.extra_len)), cBytes(c.extra, c.extra_len)...)
	}
	if c.mtime != 0 {
		h.ModTime = time.Unix(int64(c.mtime), 0)
	}
}

// cBytes views n bytes of C memory at p.
func cBytes(p *C.uint8_t, n C.uint32_t) []byte {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n))
}

// latin1String decodes Latin-1 bytes to a UTF-8 string.
func latin1String(b []byte) string {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return string(b)
	}
	u := make([]byte, 0, 2*len(b))
	for _, c := range b {
		u = utf8.AppendRune(u, rune(c))
	}
	return string(u)
}
