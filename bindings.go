//go:build linux && cgo

package kpipe

/*
#cgo CFLAGS: -I${SRCDIR}/csrc -I${SRCDIR}/vendor-c -O2 -Wall -Wextra
#cgo pkg-config: liburing zlib
#cgo LDFLAGS: -ldl
#include "kpipe.h"
*/
import "C"

import (
	"os"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The Go constants that mirror the C core's: each index below is 0 when the
// two agree, and out of range, failing the build, when they do not.
var (
	_ = [1]int{}[int(sideNone)-int(C.KP_SIDE_NONE)]
	_ = [1]int{}[int(sideSrc)-int(C.KP_SIDE_SRC)]
	_ = [1]int{}[int(sideDst)-int(C.KP_SIDE_DST)]
	_ = [1]int{}[int(fdOther)-int(C.KP_FD_OTHER)]
	_ = [1]int{}[int(fdFile)-int(C.KP_FD_FILE)]
	_ = [1]int{}[int(fdPipe)-int(C.KP_FD_PIPE)]
	_ = [1]int{}[int(fdSocket)-int(C.KP_FD_SOCKET)]
	_ = [1]int{}[int(fdChar)-int(C.KP_FD_CHAR)]
	_ = [1]int{}[int(fdBlock)-int(C.KP_FD_BLOCK)]
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

// errnoOf turns a C "count or -errno" result into a count and an errno.
func errnoOf(r C.int64_t) (int64, syscall.Errno) {
	if r < 0 {
		return 0, syscall.Errno(-r)
	}
	return int64(r), 0
}

func sysSplice(in, out int, n int64) (int64, syscall.Errno) {
	return errnoOf(C.kp_splice(C.int(in), C.int(out), C.int64_t(n), spliceFlags))
}

func sysTee(in, out int, n int64) (int64, syscall.Errno) {
	return errnoOf(C.kp_tee(C.int(in), C.int(out), C.int64_t(n), unix.SPLICE_F_NONBLOCK))
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

// sysReady reports which of src (readable) and dst (writable) are ready now.
func sysReady(src, dst int) (side, syscall.Errno) {
	r := C.kp_fd_ready(C.int(src), C.int(dst))
	if r < 0 {
		return 0, syscall.Errno(-r)
	}
	return side(r), 0
}

// sysWait blocks the calling thread until a blocking-mode fd is ready, or
// for at most timeout (then ETIMEDOUT; < 0: no limit).
func sysWait(fd int, forWrite bool, timeout time.Duration) syscall.Errno {
	w := C.int(0)
	if forWrite {
		w = 1
	}
	if r := C.kp_fd_wait(C.int(fd), w, C.int(pollTimeout(timeout))); r < 0 {
		return syscall.Errno(-r)
	}
	return 0
}

func sysFdType(fd int) (fdType, syscall.Errno) {
	r := C.kp_fd_type(C.int(fd))
	if r < 0 {
		return fdOther, syscall.Errno(-r)
	}
	return fdType(r), 0
}

func sysNonblocking(fd int) bool {
	return C.kp_fd_nonblocking(C.int(fd)) == 1
}

// sysPipeOpen opens a pipe and asks for size bytes of capacity (0: the default).
func sysPipeOpen(nonblock bool, size int) (r, w int, capacity int, errno syscall.Errno) {
	var fds [2]C.int
	var granted C.int
	nb := C.int(0)
	if nonblock {
		nb = 1
	}
	if e := C.kp_pipe_open(&fds[0], nb, C.int(size), &granted); e < 0 {
		return -1, -1, 0, syscall.Errno(-e)
	}
	return int(fds[0]), int(fds[1]), int(granted), 0
}

func sysPipeClose(r, w int) {
	fds := [2]C.int{C.int(r), C.int(w)}
	C.kp_pipe_close(&fds[0])
}

// intOrErrno turns a C "value or -errno" int into a Go int and error.
func intOrErrno(syscallName string, r C.int) (int, error) {
	if r < 0 {
		return 0, os.NewSyscallError(syscallName, syscall.Errno(-r))
	}
	return int(r), nil
}

func sysPipeSetSize(fd, size int) (int, error) {
	return intOrErrno("fcntl", C.kp_pipe_set_size(C.int(fd), C.int(size)))
}

func sysPipeSize(fd int) (int, error) {
	return intOrErrno("fcntl", C.kp_pipe_size(C.int(fd)))
}

func sysPipeBuffered(fd int) (int, error) {
	return intOrErrno("ioctl", C.kp_pipe_buffered(C.int(fd)))
}
