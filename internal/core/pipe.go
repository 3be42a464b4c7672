package core

import (
	"errors"
	"io"
	"os"
	"sync/atomic"
	"time"
)

// Pipe holds both ends of a kernel pipe. On Linux its descriptors are
// close-on-exec, non-blocking and registered with Go's runtime poller, so
// Read, Write, Splice and Tee park the calling goroutine, not an OS thread,
// while they wait; elsewhere it is the pipe os.Pipe opens. A Pipe is safe for concurrent use by one reader and one writer; the
// deadline setters and Close may be called at any time.
//
// A Pipe's capacity is the kernel's default (usually 64 KiB) until SetCap
// changes it.
type Pipe struct {
	r, w             *os.File
	rClosed, wClosed atomic.Bool
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

// NewPipe opens a pipe.
func NewPipe() (*Pipe, error) {
	p := new(Pipe)
	if err := p.Open(); err != nil {
		return nil, err
	}
	return p, nil
}

// SetWriteDeadline sets the deadline for waits on the write end.
func (p *Pipe) SetWriteDeadline(t time.Time) error {
	return p.w.SetWriteDeadline(t)
}
