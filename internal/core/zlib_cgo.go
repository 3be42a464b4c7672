//go:build linux && cgo

package core

// #include "kpipe.h"
import "C"

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"unsafe"
)

// errZState reports a misuse of the C stream: a bug in kpipe.
var errZState = errors.New("kpipe: internal error: zlib stream misused")

// ZlibVersion implements kpipe.ZlibVersion, which documents it.
func ZlibVersion() string {
	return C.GoString(C.kp_zlib_version())
}

// CompressionEngine implements kpipe.CompressionEngine, which documents it.
func CompressionEngine() string {
	engine := "zlib"
	if C.kp_ld_available() == 1 {
		engine = "libdeflate+" + engine
	}
	if C.kp_isal_available() == 1 {
		engine = "isa-l+" + engine
	}
	return engine
}

// zlibCompatible reports whether the zlib loaded at run time has the major
// version of the headers kpipe was built against.
func zlibCompatible() bool {
	return C.kp_zlib_compatible() == 1
}

func (c Codec) compress(dst io.Writer, src io.Reader, format zFormat, hdr *GzipHeader) (int64, error) {
	level, err := c.level()
	if err != nil {
		return 0, err
	}
	zs, err := getZ(zCompress)
	if err != nil {
		return 0, err
	}
	defer putZ(zs)
	var ch *C.kp_gz_header
	if hdr != nil && format == zFormatGzip {
		if ch, err = zs.setHeader(hdr); err != nil {
			return 0, err
		}
	}
	if st := zs.reset(format, level, -1, ch); st < 0 {
		return 0, zs.resetErr(st)
	}
	if c.Threads > 1 {
		if st := zStatus(C.kp_z_threads(zs.z, C.int(c.Threads))); st < 0 {
			return 0, zs.resetErr(st)
		}
	}
	err = zs.transfer(dst, src)
	return zs.written, err
}

func (c Codec) decompress(dst io.Writer, src io.Reader, format zFormat, hdr *GzipHeader) (int64, error) {
	maxOut := c.MaxOutput
	if maxOut <= 0 {
		maxOut = -1
	}
	zs, err := getZ(zDecompress)
	if err != nil {
		return 0, err
	}
	defer putZ(zs)
	if st := zs.reset(format, DefaultCompression, maxOut, nil); st < 0 {
		return 0, zs.resetErr(st)
	}
	err = zs.transfer(dst, src)
	if hdr != nil {
		if ch, ok := zs.readHeader(); ok {
			fillHeader(hdr, ch)
		}
	}
	return zs.written, err
}

// transfer runs the stream that zs was reset for from src to dst, until the
// stream is done or fails, adding the bytes delivered to dst to zs.written.
//
// Descriptors are handed to the C step as they are: with both sides fds the
// whole loop runs in C, coming back to Go only to wait in the runtime poller.
// *bytes.Reader, *strings.Reader and *bytes.Buffer sources are read in place
// through their WriteTo; other readers through the context's buffer. A
// *bytes.Buffer destination is written in place; other writers are handed
// the C output buffer.
func (zs *zstream) transfer(dst io.Writer, src io.Reader) error {
	op := &zs.op
	*op = fdOp{kind: opZlib, z: zs}
	srcFD := op.src.set(src, false)
	if !op.dst.set(dst, true) {
		op.dst = endpoint{}
		zs.feed.reset(dst, nil)
		if b, ok := dst.(*bytes.Buffer); ok {
			zs.feed.dstBuf = b
		}
	}
	// Hold the source first: it is the side most likely to wait.
	op.outerIsSrc = srcFD
	if srcFD {
		return zs.pump()
	}
	op.src = endpoint{}

	var err error
	switch s := src.(type) {
	case *bytes.Reader:
		zs.sizeHint(s.Len())
		_, err = s.WriteTo(&zs.feed)
	case *strings.Reader:
		zs.sizeHint(s.Len())
		_, err = s.WriteTo(&zs.feed)
	case *bytes.Buffer:
		zs.sizeHint(s.Len())
		_, err = s.WriteTo(&zs.feed)
	default:
		err = zs.readFrom(src)
	}
	if zs.feed.err != nil {
		// The stream's own error, rather than what WriteTo made of it.
		return zs.feed.err
	}
	if err != nil || zs.status == zDone {
		return err
	}
	zs.in, zs.inLen, zs.inEOF = nil, 0, true
	return zs.pump()
}

// readFrom feeds the stream from a generic reader through the context's
// buffer, until end of input (not pushed) or an error.
func (zs *zstream) readFrom(src io.Reader) error {
	buf := zs.readBuffer()
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			if _, err := zs.feed.Write(buf[:n]); err != nil {
				return err
			}
			if zs.status == zDone {
				return nil
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// pump steps the stream until it is done, fails or has taken all of the
// memory input (zs.in), delivering memory output as it comes.
func (zs *zstream) pump() error {
	op := &zs.op
	withFD := !op.src.isMemory() || !op.dst.isMemory()
	for zs.status != zDone {
		zs.feed.prepareOut()
		if withFD {
			op.errno = 0
			if err := op.run(); err != nil {
				return err
			}
		} else {
			zs.step(-1, -1)
		}
		switch {
		case zs.status == zHaveOutput:
			if err := zs.feed.deliver(); err != nil {
				return err
			}
		case zs.status == zNeedInput:
			if zs.inEOF {
				return errZState
			}
			return nil
		case zs.status < 0:
			return zs.err(sideNone)
		}
	}
	return nil
}

// memFeeder is the memory side of a stream: an io.Writer (and
// io.StringWriter) that in-memory sources' WriteTo pushes their bytes into,
// and the destination that memory output goes to.
type memFeeder struct {
	zs     *zstream
	dst    io.Writer     // memory destination, nil when dst is an fd
	dstBuf *bytes.Buffer // dst when it is a *bytes.Buffer: written in place
	err    error         // the stream's error, kept from WriteTo's hands
}

func (f *memFeeder) reset(dst io.Writer, dstBuf *bytes.Buffer) {
	f.dst, f.dstBuf, f.err = dst, dstBuf, nil
}

// Write pushes p through the stream. The stream does not keep p.
func (f *memFeeder) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return f.push(unsafe.Pointer(unsafe.SliceData(p)), len(p))
}

// WriteString pushes s through the stream in place, without a copy.
func (f *memFeeder) WriteString(s string) (int, error) {
	if len(s) == 0 {
		return 0, nil
	}
	return f.push(unsafe.Pointer(unsafe.StringData(s)), len(s))
}

func (f *memFeeder) push(p unsafe.Pointer, n int) (int, error) {
	zs := f.zs
	if zs.status == zDone {
		// A zlib stream ends where it ends; what follows is not taken.
		return 0, nil
	}
	zs.in, zs.inLen, zs.inEOF = p, n, false
	err := zs.pump()
	taken := n - zs.inLen
	zs.in, zs.inLen = nil, 0
	if err != nil {
		f.err = err
	}
	return taken, err
}

// prepareOut points the next step's memory output at the spare capacity of
// a *bytes.Buffer destination.
func (f *memFeeder) prepareOut() {
	if f.dstBuf == nil {
		f.zs.out = nil
		return
	}
	f.dstBuf.Grow(zOutGrow)
	out := f.dstBuf.AvailableBuffer()
	f.zs.out = out[:cap(out)]
}

// deliver hands a KP_Z_HAVE_OUTPUT step's bytes to the memory destination.
func (f *memFeeder) deliver() error {
	p := f.zs.output()
	if f.dstBuf != nil {
		// p is the buffer's own spare capacity: this only extends its
		// length.
		f.dstBuf.Write(p)
		return nil
	}
	n, err := f.dst.Write(p)
	if n < len(p) {
		f.zs.written -= int64(len(p) - n)
		if err == nil {
			err = io.ErrShortWrite
		}
	}
	return err
}
