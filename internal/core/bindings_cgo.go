//go:build linux && cgo

package core

/*
#cgo CFLAGS: -I${SRCDIR}/../../csrc -I${SRCDIR}/../../vendor-c -O2 -Wall -Wextra
#cgo pkg-config: liburing zlib
#cgo LDFLAGS: -ldl
#include "kpipe.h"
*/
import "C"

import (
	"syscall"
	"unsafe"
)

// The Go constants that mirror the C core's: each index below is 0 when the
// two agree, and out of range, failing the build, when they do not.
var (
	_ = [1]int{}[int(sideNone)-int(C.KP_SIDE_NONE)]
	_ = [1]int{}[int(sideSrc)-int(C.KP_SIDE_SRC)]
	_ = [1]int{}[int(sideDst)-int(C.KP_SIDE_DST)]
	_ = [1]int{}[int(zFormatZlib)-int(C.KP_Z_ZLIB)]
	_ = [1]int{}[int(zFormatGzip)-int(C.KP_Z_GZIP)]
	_ = [1]int{}[gzNameMax-int(C.KP_GZ_NAME_MAX)]
	_ = [1]int{}[gzExtraMax-int(C.KP_GZ_EXTRA_MAX)]
	_ = [1]int{}[maxRequest-int(C.KP_MAX_REQUEST)]
)

// implementation is what Implementation reports.
const implementation = ImplLinuxCgo

func fromIO(r C.kp_io) ioResult {
	return ioResult{
		moved: int64(r.moved),
		errno: syscall.Errno(r.err),
		eof:   r.eof != 0,
		side:  side(r.side),
	}
}

// sysSpliceVia runs the C pipe-in-the-middle loop on a pooled pipe; p.inPipe
// is updated in place.
func sysSpliceVia(src, dst int, p *poolPipe, limit int64) ioResult {
	// p lives on the heap already: handing C its counter in place costs no
	// allocation, where a local copy's address would escape.
	return fromIO(C.kp_splice_via(C.int(src), C.int(dst), C.int(p.r), C.int(p.w),
		C.int(p.capacity), C.int64_t(limit), (*C.int64_t)(unsafe.Pointer(&p.inPipe))))
}

func sysCopyRange(in, out int, limit int64) ioResult {
	return fromIO(C.kp_copy_range(C.int(in), C.int(out), C.int64_t(limit)))
}

func sysSendfile(out, in int, limit int64) ioResult {
	return fromIO(C.kp_sendfile(C.int(out), C.int(in), C.int64_t(limit)))
}
