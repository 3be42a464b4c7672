package kpipe

import (
	"errors"
	"io"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// Pipe holds both ends of a kernel pipe. Its descriptors are close-on-exec,
// non-blocking and registered with Go's runtime poller, so Read, Write,
// Splice and Tee park the calling goroutine, not an OS thread, while they
// wait. A Pipe is safe for concurrent use by one reader and one writer; the
// deadline setters and Close may be called at any time.
//
// A Pipe's capacity is the kernel's default (usually 64 KiB) until SetCap
// changes it.
type Pipe struct {
	r, w             *os.File
	rClosed, wClosed atomic.Bool
}

// NewPipe opens a pipe.
func NewPipe() (*Pipe, error) {
	r, w, _, errno := cPipeOpen(true, 0)
	if errno != 0 {
		return nil, os.NewSyscallError("pipe2", errno)
	}
	// os.NewFile registers non-blocking descriptors with the runtime poller.
	p := &Pipe{
		r: os.NewFile(uintptr(r), "kpipe|"+strconv.Itoa(r)),
		w: os.NewFile(uintptr(w), "kpipe|"+strconv.Itoa(w)),
	}
	return p, nil
}

// Read reads from the pipe's read end. It returns io.EOF once the write end
// is closed and the pipe is empty.
func (p *Pipe) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if err == io.EOF && p.rClosed.Load() {
		// Close closes the write end first, which wakes a waiting
		// reader with end of input: it is the pipe that was closed.
		err = &os.PathError{Op: "read", Path: p.r.Name(), Err: os.ErrClosed}
	}
	return n, err
}

// Write writes to the pipe's write end. It blocks (parking the goroutine)
// while the pipe is full.
func (p *Pipe) Write(b []byte) (int, error) {
	return p.w.Write(b)
}

// CloseWrite closes the write end: readers see io.EOF once the pipe is
// drained. Closing an already closed end returns nil.
func (p *Pipe) CloseWrite() error {
	if !p.wClosed.CompareAndSwap(false, true) {
		return nil
	}
	return p.w.Close()
}

// Close closes both ends. It wakes goroutines blocked on the pipe, which then
// fail with an error wrapping os.ErrClosed. Close is idempotent.
func (p *Pipe) Close() error {
	// Mark the read end closed before closing the write end: that wakes
	// waiting readers with end of input, which Read, Splice and Tee then
	// report as the pipe closed.
	closeRead := p.rClosed.CompareAndSwap(false, true)
	werr := p.CloseWrite()
	if !closeRead {
		return werr
	}
	return errors.Join(werr, p.r.Close())
}

// Buffered returns the number of bytes waiting in the pipe (FIONREAD).
func (p *Pipe) Buffered() (int, error) {
	return p.readEndInt(cPipeBuffered)
}

// Cap returns the pipe's capacity in bytes (F_GETPIPE_SZ).
func (p *Pipe) Cap() (int, error) {
	return p.readEndInt(cPipeSize)
}

// SetCap asks the kernel for a capacity of at least n bytes (F_SETPIPE_SZ)
// and returns the capacity granted, which the kernel rounds up to a power of
// two pages. Unprivileged processes are limited by /proc/sys/fs/pipe-max-size
// and the pipe-user-pages limits; the error then wraps syscall.EPERM and the
// pipe keeps its old capacity.
func (p *Pipe) SetCap(n int) (int, error) {
	var granted int
	var err error
	cerr := p.control(p.r, func(fd int) { granted, err = cPipeSetSize(fd, n) })
	if cerr != nil {
		return 0, cerr
	}
	return granted, err
}

// SetDeadline sets the read and write deadlines, as net.Conn does. A Read,
// Write, Splice or Tee waiting on the pipe past the deadline fails with an
// error wrapping os.ErrDeadlineExceeded.
func (p *Pipe) SetDeadline(t time.Time) error {
	return errors.Join(p.SetReadDeadline(t), p.SetWriteDeadline(t))
}

// SetReadDeadline sets the deadline for waits on the read end.
func (p *Pipe) SetReadDeadline(t time.Time) error {
	return p.r.SetReadDeadline(t)
}

// SetWriteDeadline sets the deadline for waits on the write end.
func (p *Pipe) SetWriteDeadline(t time.Time) error {
	return p.w.SetWriteDeadline(t)
}

// readEndInt runs an fd query on the read end, or on the write end once the
// read end is closed.
func (p *Pipe) readEndInt(query func(fd int) (int, error)) (int, error) {
	end := p.r
	if p.rClosed.Load() {
		end = p.w
	}
	var v int
	var err error
	if cerr := p.control(end, func(fd int) { v, err = query(fd) }); cerr != nil {
		return 0, cerr
	}
	return v, err
}

func (p *Pipe) control(end *os.File, f func(fd int)) error {
	rc, err := end.SyscallConn()
	if err != nil {
		return err
	}
	if err := rc.Control(func(fd uintptr) { f(int(fd)) }); err != nil {
		return os.ErrClosed
	}
	return nil
}
