package core

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

// maxRequest bounds the length of one system call's request (1 GiB), as
// the C core's KP_MAX_REQUEST does.
const maxRequest = 1 << 30

// side names the end of a transfer that an operation is waiting for. The
// values are the C core's KP_SIDE_* (bindings_cgo.go checks).
type side int

const (
	sideNone side = 0
	sideSrc  side = 1 // the source has nothing to read
	sideDst  side = 2 // the destination cannot take more
)

// fdType is what fstat says a descriptor is.
type fdType int

const (
	fdOther  fdType = iota
	fdFile          // regular file
	fdPipe          // pipe or FIFO
	fdSocket        // socket
	fdChar          // character device
	fdBlock         // block device
)

// ioResult is what one of the copy loops (sysSpliceVia, sysCopyRange,
// sysSendfile, a zlib step) reports: the C core's kp_io in Go.
type ioResult struct {
	moved int64
	errno syscall.Errno
	eof   bool
	side  side
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

// set resolves x to an fd endpoint; write selects a *Pipe's write
// end. It reports false for values without a file descriptor.
func (e *endpoint) set(x any, write bool) bool {
	*e = endpoint{}
	switch v := x.(type) {
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
		p, ok := asPipe(x)
		if !ok || p == nil {
			return false
		}
		e.pipe = p
		if write {
			e.file = p.w
		} else {
			e.file = p.r
		}
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
	return sysNonblocking(fd)
}

// rawRead runs op.outer with the endpoint's fd under its read lock, parking
// in the runtime poller each time op.outer returns false.
//
// rawRead, rawWrite and control spell out a case per concrete type on
// purpose: each SyscallConn call is inlined and its RawConn's methods
// devirtualized, so neither op nor the closure escapes. A helper taking a
// syscall.RawConn would cost an allocation per call.
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

// isMemory reports whether the endpoint has no descriptor: the memory side
// of an opZlib.
func (e *endpoint) isMemory() bool {
	return e.file == nil && e.tcp == nil && e.unix == nil && e.conn == nil && !e.raw
}
