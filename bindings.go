package kpipe

/*
#cgo CFLAGS: -I${SRCDIR}/csrc -I${SRCDIR}/vendor-c -O2 -Wall -Wextra
#cgo pkg-config: liburing zlib
#include "kpipe.h"
*/
import "C"

import (
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// spliceFlags are the flags of every splice kpipe issues: never wait inside
// the kernel on a pipe (waiting happens in Go's runtime poller), and move
// pages rather than copy them where the kernel can.
const spliceFlags = unix.SPLICE_F_MOVE | unix.SPLICE_F_NONBLOCK

// side names the end of a transfer that an operation is waiting for.
type side int

const (
	sideNone side = C.KP_SIDE_NONE
	sideSrc  side = C.KP_SIDE_SRC
	sideDst  side = C.KP_SIDE_DST
)

// fdType is what fstat says a descriptor is.
type fdType int

const (
	fdOther  fdType = C.KP_FD_OTHER
	fdFile   fdType = C.KP_FD_FILE
	fdPipe   fdType = C.KP_FD_PIPE
	fdSocket fdType = C.KP_FD_SOCKET
	fdChar   fdType = C.KP_FD_CHAR
	fdBlock  fdType = C.KP_FD_BLOCK
)

// ioResult is the Go form of the C core's kp_io.
type ioResult struct {
	moved int64
	errno syscall.Errno
	eof   bool
	side  side
}

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

func cSplice(in, out int, n int64) (int64, syscall.Errno) {
	return errnoOf(C.kp_splice(C.int(in), C.int(out), C.int64_t(n), spliceFlags))
}

func cTee(in, out int, n int64) (int64, syscall.Errno) {
	return errnoOf(C.kp_tee(C.int(in), C.int(out), C.int64_t(n), unix.SPLICE_F_NONBLOCK))
}

// cSpliceVia runs the C pipe-in-the-middle loop on a pooled pipe; p.inPipe
// is updated in place.
func cSpliceVia(src, dst int, p *poolPipe, limit int64) ioResult {
	return fromIO(C.kp_splice_via(C.int(src), C.int(dst), p.r, p.w,
		C.int(p.capacity), C.int64_t(limit), &p.inPipe))
}

func cCopyRange(in, out int, limit int64) ioResult {
	return fromIO(C.kp_copy_range(C.int(in), C.int(out), C.int64_t(limit)))
}

func cSendfile(out, in int, limit int64) ioResult {
	return fromIO(C.kp_sendfile(C.int(out), C.int(in), C.int64_t(limit)))
}

// cReady reports which of src (readable) and dst (writable) are ready now.
func cReady(src, dst int) (side, syscall.Errno) {
	r := C.kp_fd_ready(C.int(src), C.int(dst))
	if r < 0 {
		return 0, syscall.Errno(-r)
	}
	return side(r), 0
}

// cWait blocks the calling thread until a blocking-mode fd is ready.
func cWait(fd int, forWrite bool) syscall.Errno {
	w := C.int(0)
	if forWrite {
		w = 1
	}
	if r := C.kp_fd_wait(C.int(fd), w); r < 0 {
		return syscall.Errno(-r)
	}
	return 0
}

func cFdType(fd int) (fdType, syscall.Errno) {
	r := C.kp_fd_type(C.int(fd))
	if r < 0 {
		return fdOther, syscall.Errno(-r)
	}
	return fdType(r), 0
}

func cNonblocking(fd int) bool {
	return C.kp_fd_nonblocking(C.int(fd)) == 1
}

// cPipeOpen opens a pipe and asks for size bytes of capacity (0: the default).
func cPipeOpen(nonblock bool, size int) (r, w int, capacity int, errno syscall.Errno) {
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

func cPipeClose(r, w int) {
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

func cPipeSetSize(fd, size int) (int, error) {
	return intOrErrno("fcntl", C.kp_pipe_set_size(C.int(fd), C.int(size)))
}

func cPipeSize(fd int) (int, error) {
	return intOrErrno("fcntl", C.kp_pipe_size(C.int(fd)))
}

func cPipeBuffered(fd int) (int, error) {
	return intOrErrno("ioctl", C.kp_pipe_buffered(C.int(fd)))
}

// endpoint is a caller's io.Reader or io.Writer seen as a file descriptor,
// or one end of a private pooled pipe (raw). Exactly one of file, tcp, unix,
// conn and raw is set. Concrete types are kept
// apart so that the compiler can see through SyscallConn and RawConn: the
// common endpoints then cost no heap allocation per call.
type endpoint struct {
	file *os.File
	tcp  *net.TCPConn
	unix *net.UnixConn
	conn syscall.Conn
	pipe *Pipe // set when the endpoint is one end of a *Pipe (file is that end)

	// raw is set for a pooled pipe's end, a non-blocking descriptor that
	// only its user touches: its fill level is known, so it is never the
	// side an operation waits for (and if it were, the thread would wait).
	raw   bool
	rawFD int
}

// setRaw makes the endpoint one end of a private pooled pipe.
func (e *endpoint) setRaw(fd int) {
	*e = endpoint{raw: true, rawFD: fd}
}

// setEndpoint resolves x to an fd endpoint; write selects a *Pipe's write
// end. It reports false for values without a file descriptor.
func (e *endpoint) set(x any, write bool) bool {
	*e = endpoint{}
	switch v := x.(type) {
	case *Pipe:
		if v == nil {
			return false
		}
		e.pipe = v
		if write {
			e.file = v.w
		} else {
			e.file = v.r
		}
	case *os.File:
		if v == nil {
			return false
		}
		e.file = v
	case *net.TCPConn:
		if v == nil {
			return false
		}
		e.tcp = v
	case *net.UnixConn:
		if v == nil {
			return false
		}
		e.unix = v
	case syscall.Conn:
		e.conn = v
	default:
		return false
	}
	return true
}

// pollable reports whether waiting on fd belongs in Go's runtime poller.
// Sockets and kpipe's pipes always are; an *os.File is when it is in
// non-blocking mode (os registers such files with the poller).
func (e *endpoint) pollable(fd int) bool {
	if e.raw {
		return false
	}
	if e.file == nil || e.pipe != nil {
		return true
	}
	return cNonblocking(fd)
}

// rawRead runs op.outer with the endpoint's fd under its read lock, parking
// in the runtime poller each time op.outer returns false.
func (e *endpoint) rawRead(op *fdOp) error {
	f := func(fd uintptr) bool { return op.outer(int(fd)) }
	switch {
	case e.raw:
		op.outer(e.rawFD) // not pollable: never returns false
		return nil
	case e.file != nil:
		rc, err := e.file.SyscallConn()
		if err != nil {
			return err
		}
		return rc.Read(f)
	case e.tcp != nil:
		rc, err := e.tcp.SyscallConn()
		if err != nil {
			return err
		}
		return rc.Read(f)
	case e.unix != nil:
		rc, err := e.unix.SyscallConn()
		if err != nil {
			return err
		}
		return rc.Read(f)
	}
	return e.rawGeneric(op, false)
}

// rawWrite is rawRead for the write direction.
func (e *endpoint) rawWrite(op *fdOp) error {
	f := func(fd uintptr) bool { return op.outer(int(fd)) }
	switch {
	case e.raw:
		op.outer(e.rawFD)
		return nil
	case e.file != nil:
		rc, err := e.file.SyscallConn()
		if err != nil {
			return err
		}
		return rc.Write(f)
	case e.tcp != nil:
		rc, err := e.tcp.SyscallConn()
		if err != nil {
			return err
		}
		return rc.Write(f)
	case e.unix != nil:
		rc, err := e.unix.SyscallConn()
		if err != nil {
			return err
		}
		return rc.Write(f)
	}
	return e.rawGeneric(op, true)
}

// control runs op.inner with the endpoint's fd held open, without waiting.
func (e *endpoint) control(op *fdOp) error {
	f := func(fd uintptr) { op.inner(int(fd)) }
	switch {
	case e.raw:
		op.inner(e.rawFD)
		return nil
	case e.file != nil:
		rc, err := e.file.SyscallConn()
		if err != nil {
			return err
		}
		return rc.Control(f)
	case e.tcp != nil:
		rc, err := e.tcp.SyscallConn()
		if err != nil {
			return err
		}
		return rc.Control(f)
	case e.unix != nil:
		rc, err := e.unix.SyscallConn()
		if err != nil {
			return err
		}
		return rc.Control(f)
	}
	rc, err := e.conn.SyscallConn()
	if err != nil {
		return err
	}
	// An unknown RawConn may keep what it is given: hand it a heap copy.
	h := new(fdOp)
	*h = *op
	err = rc.Control(func(fd uintptr) { h.inner(int(fd)) })
	*op = *h
	return err
}

// rawGeneric serves any other syscall.Conn through a heap copy of op, so that
// the common endpoints above keep op on the stack.
func (e *endpoint) rawGeneric(op *fdOp, write bool) error {
	rc, err := e.conn.SyscallConn()
	if err != nil {
		return err
	}
	h := new(fdOp)
	*h = *op
	f := func(fd uintptr) bool { return h.outer(int(fd)) }
	if write {
		err = rc.Write(f)
	} else {
		err = rc.Read(f)
	}
	*op = *h
	return err
}
