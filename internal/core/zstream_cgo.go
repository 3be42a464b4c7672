//go:build linux && cgo

package core

/*
#include <stdlib.h>
#include "kpipe.h"

// kp_zgo is the C memory a Go-side stream context owns next to its kp_z:
// step results and headers live here, so that C never writes into Go memory
// and no Go pointer is ever stored where the collector cannot see it.
typedef struct kp_zgo {
	kp_z_result res;
	kp_gz_header hdr;
} kp_zgo;
*/
import "C"

import (
	"io"
	"sync"
	"syscall"
	"unsafe"
)

const (
	// zPoolMax bounds the idle stream contexts kept for reuse per mode;
	// more are freed. A compressing context holds about 0.5 MiB of C
	// memory (zlib's state and two 128 KiB buffers), a decompressing one
	// about 0.3 MiB.
	zPoolMax = 8
	// zReadBufSize is the Go buffer a context reads generic io.Readers into.
	zReadBufSize = 64 << 10
	// zOutGrow is the least room a *bytes.Buffer destination is given
	// before each step that writes into it; the step fills all of its
	// spare capacity, which grows as the buffer does.
	zOutGrow = 16 << 10
)

// zStatus is a kp_z_step result: a status >= 0 or a negative error.
type zStatus int

const (
	zDone       zStatus = C.KP_Z_DONE
	zNeedInput  zStatus = C.KP_Z_NEED_INPUT
	zHaveOutput zStatus = C.KP_Z_HAVE_OUTPUT
	zAgain      zStatus = C.KP_Z_AGAIN

	zErrHeader    zStatus = C.KP_ZE_HEADER
	zErrChecksum  zStatus = C.KP_ZE_CHECKSUM
	zErrCorrupt   zStatus = C.KP_ZE_CORRUPT
	zErrTruncated zStatus = C.KP_ZE_TRUNCATED
	zErrTooLarge  zStatus = C.KP_ZE_TOO_LARGE
	zErrState     zStatus = C.KP_ZE_STATE
)

// zMode is enum kp_z_mode.
type zMode int

const (
	zCompress   zMode = C.KP_Z_COMPRESS
	zDecompress zMode = C.KP_Z_DECOMPRESS
)

// zstream is a C kp_z with what the Go side keeps next to it, reused call
// after call through zPool. One goroutine uses it at a time.
type zstream struct {
	z    *C.kp_z
	c    *C.kp_zgo // result and header space in C memory
	mode zMode

	// Memory input and output of the next step (nil: none; the fd side, or
	// the kp_z's own output buffer). They point into the caller's memory
	// only for the length of one call.
	in    unsafe.Pointer
	inLen int
	inEOF bool
	out   []byte

	status  zStatus // of the last step
	written int64   // bytes delivered to the destination in this call

	// hdrMem is C scratch memory for the fields of a gzip header to write
	// (kp_z_reset copies them), grown as needed.
	hdrMem *C.uint8_t
	hdrCap int

	readBuf []byte    // for generic io.Readers; allocated on first use
	feed    memFeeder // the io.Writer handed to in-memory sources' WriteTo
	op      fdOp      // the operation between the fds of one call
}

// zPool keeps idle stream contexts per mode. It is not a sync.Pool: the C
// memory of a context the collector dropped would leak.
var zPool struct {
	mu   sync.Mutex
	free [2][]*zstream // by zMode
}

// getZ returns an idle context for mode, creating one when none is idle.
func getZ(mode zMode) (*zstream, error) {
	zPool.mu.Lock()
	free := zPool.free[mode]
	if n := len(free); n > 0 {
		zs := free[n-1]
		free[n-1] = nil
		zPool.free[mode] = free[:n-1]
		zPool.mu.Unlock()
		return zs, nil
	}
	zPool.mu.Unlock()
	z := C.kp_z_new(0)
	if z == nil {
		return nil, wrapErrno("kp_z_new", syscall.ENOMEM)
	}
	c := (*C.kp_zgo)(C.calloc(1, C.sizeof_kp_zgo))
	if c == nil {
		C.kp_z_free(z)
		return nil, wrapErrno("calloc", syscall.ENOMEM)
	}
	zs := &zstream{z: z, c: c, mode: mode}
	zs.feed.zs = zs
	return zs, nil
}

// putZ returns zs to the pool, or frees it when the pool is full.
func putZ(zs *zstream) {
	// A stream given up half-way (its io.Writer failed, a deadline
	// passed) gives back its threads and whole-input buffers now.
	C.kp_z_idle(zs.z)
	zs.in, zs.inLen, zs.inEOF, zs.out = nil, 0, false, nil
	zs.op = fdOp{}
	zs.feed.reset(nil, nil)
	zPool.mu.Lock()
	if len(zPool.free[zs.mode]) < zPoolMax {
		if zPool.free[zs.mode] == nil {
			zPool.free[zs.mode] = make([]*zstream, 0, zPoolMax)
		}
		zPool.free[zs.mode] = append(zPool.free[zs.mode], zs)
		zPool.mu.Unlock()
		return
	}
	zPool.mu.Unlock()
	zs.free()
}

// free releases the context's C memory.
func (zs *zstream) free() {
	C.kp_z_free(zs.z)
	C.free(unsafe.Pointer(zs.c))
	C.free(unsafe.Pointer(zs.hdrMem))
	zs.z, zs.c, zs.hdrMem, zs.hdrCap = nil, nil, nil, 0
}

// drainZPool frees every idle context and returns how many it freed.
func drainZPool() int {
	zPool.mu.Lock()
	free := zPool.free
	zPool.free = [2][]*zstream{}
	zPool.mu.Unlock()
	n := 0
	for _, list := range free {
		for _, zs := range list {
			zs.free()
			n++
		}
	}
	return n
}

// idleZ returns the number of idle contexts in the pool.
func idleZ() int {
	zPool.mu.Lock()
	defer zPool.mu.Unlock()
	return len(zPool.free[0]) + len(zPool.free[1])
}

// reset starts a new stream. hdr is the gzip header to write (compression
// to gzip only; nil: the default header).
func (zs *zstream) reset(format zFormat, level int, maxOut int64, hdr *C.kp_gz_header) zStatus {
	zs.status, zs.written = zNeedInput, 0
	return zStatus(C.kp_z_reset(zs.z, C.int(zs.mode), C.int(format), C.int(level),
		C.int64_t(maxOut), hdr))
}

// zWorkers returns the compression worker threads alive in the process
// (see Codec.Threads), for tests.
func zWorkers() int64 { return int64(C.kp_z_test_workers()) }

// sizeHint tells a compression stream, before its first step, that its
// memory input is n bytes: known in advance, it may be compressed whole
// (see kp_z_size_hint). Decompression ignores it. Called right after a
// reset, it cannot be out of place, the one error kp_z_size_hint has.
func (zs *zstream) sizeHint(n int) {
	C.kp_z_size_hint(zs.z, C.int64_t(n))
}

// step runs kp_z_step once with srcFD and dstFD (-1: memory, as set in
// zs.in and zs.out). It advances zs.in past the bytes taken and adds the
// bytes delivered to zs.written. It returns the bytes delivered by this call
// and, for KP_Z_AGAIN and errno failures, the side concerned.
func (zs *zstream) step(srcFD, dstFD int) (int64, side) {
	var out *C.uint8_t
	var outCap C.int64_t
	if zs.out != nil {
		out = (*C.uint8_t)(unsafe.SliceData(zs.out))
		outCap = C.int64_t(len(zs.out))
	}
	eof := C.int(0)
	if zs.inEOF {
		eof = 1
	}
	res := &zs.c.res
	zs.status = zStatus(C.kp_z_step(zs.z, C.int(srcFD), C.int(dstFD),
		(*C.uint8_t)(zs.in), C.int64_t(zs.inLen), eof, out, outCap, res))
	if n := int(res.consumed); n > 0 {
		zs.inLen -= n
		if zs.inLen == 0 {
			// Never hold a pointer one past the end of an object: the
			// collector would find it pointing at another, or at none.
			zs.in = nil
		} else {
			zs.in = unsafe.Add(zs.in, n)
		}
	}
	written := int64(res.written)
	zs.written += written
	return written, side(res.side)
}

// output returns the bytes a KP_Z_HAVE_OUTPUT step made ready.
func (zs *zstream) output() []byte {
	res := &zs.c.res
	if res.out_len <= 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(res.out)), int(res.out_len))
}

// readHeader reports the first gzip member's header once it was parsed.
func (zs *zstream) readHeader() (*C.kp_gz_header, bool) {
	if C.kp_z_gzip_header(zs.z, &zs.c.hdr) != 1 {
		return nil, false
	}
	return &zs.c.hdr, true
}

// scratch returns n bytes (at least 1) of the context's C scratch memory,
// as a Go slice over C memory, growing it as needed. It is valid until the
// next call.
func (zs *zstream) scratch(n int) ([]byte, error) {
	if n < 1 {
		n = 1
	}
	if zs.hdrCap < n {
		p := (*C.uint8_t)(C.realloc(unsafe.Pointer(zs.hdrMem), C.size_t(n)))
		if p == nil {
			return nil, wrapErrno("realloc", syscall.ENOMEM)
		}
		zs.hdrMem, zs.hdrCap = p, n
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(zs.hdrMem)), n), nil
}

// readBuffer returns the context's buffer for generic io.Readers.
func (zs *zstream) readBuffer() []byte {
	if zs.readBuf == nil {
		zs.readBuf = make([]byte, zReadBufSize)
	}
	return zs.readBuf
}

// err returns the error of a failed step (zs.status < 0); failed names the
// side whose read or write failed, for errno results.
func (zs *zstream) err(failed side) error {
	switch zs.status {
	case zErrHeader:
		return ErrHeader
	case zErrChecksum:
		return ErrChecksum
	case zErrCorrupt:
		return ErrCorrupt
	case zErrTruncated:
		return io.ErrUnexpectedEOF
	case zErrTooLarge:
		return ErrTooLarge
	case zErrState:
		return errZState
	}
	call := "deflate"
	if zs.mode == zDecompress {
		call = "inflate"
	}
	switch failed {
	case sideSrc:
		call = "read"
	case sideDst:
		call = "write"
	}
	return wrapErrno(call, syscall.Errno(-zs.status))
}

// resetErr returns the error of a failed kp_z_reset.
func (zs *zstream) resetErr(st zStatus) error {
	zs.status = st
	return zs.err(sideNone)
}

// stepOp is opZlib's step between srcFD and dstFD (-1: memory), in the
// terms of an fdOp: KP_Z_AGAIN is EAGAIN, a failed read or write its errno;
// every other result leaves errno 0 and zs.status for the caller.
func (zs *zstream) stepOp(srcFD, dstFD int) ioResult {
	var r ioResult
	r.moved, r.side = zs.step(srcFD, dstFD)
	switch st := zs.status; {
	case st == zAgain:
		r.errno = syscall.EAGAIN
	case st < 0 && st > -4096:
		r.errno = syscall.Errno(-st)
	}
	r.eof = zs.status == zDone
	return r
}
