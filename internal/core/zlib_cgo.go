//go:build linux && cgo

package core

// #include "kpipe.h"
import "C"

import (
	"errors"
	"io"
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
