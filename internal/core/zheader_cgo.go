//go:build linux && cgo

package core

// #include "kpipe.h"
import "C"

import (
	"time"
	"unsafe"
)

// setHeader converts h into the context's C header, copying its fields
// into the context's C scratch memory (kp_z_reset copies them again, so the
// scratch is free once the reset is done).
func (zs *zstream) setHeader(h *GzipHeader) (*C.kp_gz_header, error) {
	nameLen, commentLen, mtime, err := checkHeader(h)
	if err != nil {
		return nil, err
	}
	mem, err := zs.scratch(nameLen + commentLen + len(h.Extra))
	if err != nil {
		return nil, err
	}
	base := unsafe.Pointer(unsafe.SliceData(mem))
	c := &zs.c.hdr
	*c = C.kp_gz_header{mtime: C.uint32_t(mtime), os: C.uint8_t(h.OS)}
	if h.Name != "" {
		appendLatin1(mem[:0], h.Name) // in place: mem holds nameLen bytes
		c.name, c.name_len = (*C.uint8_t)(base), C.uint32_t(nameLen)
	}
	if h.Comment != "" {
		appendLatin1(mem[nameLen:nameLen], h.Comment)
		c.comment, c.comment_len = (*C.uint8_t)(unsafe.Add(base, nameLen)), C.uint32_t(commentLen)
	}
	if h.Extra != nil {
		copy(mem[nameLen+commentLen:], h.Extra)
		c.extra, c.extra_len = (*C.uint8_t)(unsafe.Add(base, nameLen+commentLen)), C.uint32_t(len(h.Extra))
	}
	return c, nil
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
