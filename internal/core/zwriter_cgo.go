//go:build linux && cgo

package core

// #include "kpipe.h"
import "C"

import (
	"bytes"
	"io"
)

// gzipWholeMax is the most input a GzipWriter keeps for libdeflate.
const gzipWholeMax = 8 << 20

// gzipState is a GzipWriter's stream: a pooled C context whose memory
// input is what Write is given, its output delivered to the destination.
type gzipState zstream

// newGzipState takes a context from the pool and starts a gzip stream
// into dst on it.
func newGzipState(dst io.Writer, level int, hdr *GzipHeader) (*gzipState, error) {
	zs, err := getZ(zCompress)
	if err != nil {
		return nil, err
	}
	var ch *C.kp_gz_header
	if hdr != nil {
		if ch, err = zs.setHeader(hdr); err != nil {
			putZ(zs)
			return nil, err
		}
	}
	if st := zs.reset(zFormatGzip, level, -1, ch); st < 0 {
		err := zs.resetErr(st)
		putZ(zs)
		return nil, err
	}
	if st := zStatus(C.kp_z_whole_until(zs.z, gzipWholeMax)); st < 0 {
		err := zs.resetErr(st)
		putZ(zs)
		return nil, err
	}
	// Memory in; out to dst's descriptor when it has one, else through
	// its Write.
	op := &zs.op
	*op = fdOp{kind: opZlib, z: zs}
	if !op.dst.set(dst, true) {
		op.dst = endpoint{}
		zs.feed.reset(dst, nil)
		if b, ok := dst.(*bytes.Buffer); ok {
			zs.feed.dstBuf = b
		}
	}
	return (*gzipState)(zs), nil
}

func (s *gzipState) write(p []byte) (int, error) { return (*zstream)(s).feed.Write(p) }

func (s *gzipState) writeString(str string) (int, error) {
	return (*zstream)(s).feed.WriteString(str)
}

// flush runs a sync flush through to the destination.
func (s *gzipState) flush() error {
	zs := (*zstream)(s)
	if st := zStatus(C.kp_z_flush(zs.z)); st < 0 {
		return zs.resetErr(st)
	}
	zs.in, zs.inLen, zs.inEOF = nil, 0, false
	return zs.pump()
}

// finish ends the stream: the last block and the trailer.
func (s *gzipState) finish() error {
	zs := (*zstream)(s)
	zs.in, zs.inLen, zs.inEOF = nil, 0, true
	return zs.pump()
}

// release gives the context back to the pool.
func (s *gzipState) release() { putZ((*zstream)(s)) }
