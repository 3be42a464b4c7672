package core

import (
	"errors"
	"io"
	"os"
	"sync/atomic"
	"time"
)

// Pipe implements kpipe.Pipe, which documents it.
type Pipe struct {
	r, w             *os.File
	rClosed, wClosed atomic.Bool
}

// Read implements kpipe.Pipe.Read, which documents it.
func (p *Pipe) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if err == io.EOF && p.rClosed.Load() {
		// Close closes the write end first, which wakes a waiting
		// reader with end of input: it is the pipe that was closed.
		err = &os.PathError{Op: "read", Path: p.r.Name(), Err: os.ErrClosed}
	}
	return n, err
}

// Write implements kpipe.Pipe.Write, which documents it.
func (p *Pipe) Write(b []byte) (int, error) {
	return p.w.Write(b)
}

// CloseWrite implements kpipe.Pipe.CloseWrite, which documents it.
func (p *Pipe) CloseWrite() error {
	if !p.wClosed.CompareAndSwap(false, true) {
		return nil
	}
	return p.w.Close()
}

// Close implements kpipe.Pipe.Close, which documents it.
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

// SetDeadline implements kpipe.Pipe.SetDeadline, which documents it.
func (p *Pipe) SetDeadline(t time.Time) error {
	return errors.Join(p.SetReadDeadline(t), p.SetWriteDeadline(t))
}

// SetReadDeadline implements kpipe.Pipe.SetReadDeadline, which documents it.
func (p *Pipe) SetReadDeadline(t time.Time) error {
	return p.r.SetReadDeadline(t)
}

// SetWriteDeadline implements kpipe.Pipe.SetWriteDeadline, which documents it.
func (p *Pipe) SetWriteDeadline(t time.Time) error {
	return p.w.SetWriteDeadline(t)
}

// PipeOf returns the core pipe that x, a value of the API's pipe type,
// holds (nil for a nil one), and whether x is of that type. Package kpipe
// sets it at init, before any call; every endpoint the core resolves goes
// through asPipe, so the API's pipes are found wherever they are, a
// *io.LimitedReader's R included.
var PipeOf func(x any) (*Pipe, bool)

// asPipe returns the pipe x is or holds, and whether x is a pipe type.
func asPipe(x any) (*Pipe, bool) {
	if p, ok := x.(*Pipe); ok {
		return p, true
	}
	if PipeOf != nil {
		return PipeOf(x)
	}
	return nil, false
}
