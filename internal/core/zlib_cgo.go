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

// ZlibVersion returns the version of the C zlib library kpipe runs with, as
// zlib's zlibVersion() reports it (for example "1.2.13"); "" in builds
// without the C core, whose compression is Go code.
func ZlibVersion() string {
	return C.GoString(C.kp_zlib_version())
}

// CompressionEngine names what compresses and decompresses in this
// process, the engines joined by "+": "isa-l" where ISA-L runs inflate and
// deflate at levels 1 to 3, "libdeflate" where libdeflate compresses at
// levels 4 to 9 the inputs whose size is known at the start (memory
// readers, regular files; see Codec.Level), and "zlib", which runs the
// rest. It is "zlib" alone where neither library is there (built without
// their headers, libisal.so.2 or libdeflate.so.0 missing at run time, or
// KPIPE_ZENGINE=zlib set), and "go" in builds without the C core
// (klauspost/compress). Every engine writes and reads standard zlib and
// gzip streams, with the same checks and errors.
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
