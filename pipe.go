package kpipe

import (
	"time"

	"github.com/kpipe/kpipe/internal/core"
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
	p core.Pipe
}

// NewPipe opens a pipe.
func NewPipe() (*Pipe, error) {
	p := new(Pipe)
	if err := p.p.Open(); err != nil {
		return nil, err
	}
	return p, nil
}

// Read reads from the pipe's read end. It returns io.EOF once the write end
// is closed and the pipe is empty.
func (p *Pipe) Read(b []byte) (int, error) { return p.p.Read(b) }

// Write writes to the pipe's write end. It blocks (parking the goroutine)
// while the pipe is full.
func (p *Pipe) Write(b []byte) (int, error) { return p.p.Write(b) }

// CloseWrite closes the write end: readers see io.EOF once the pipe is
// drained. Closing an already closed end returns nil.
func (p *Pipe) CloseWrite() error { return p.p.CloseWrite() }

// Close closes both ends. It wakes goroutines blocked on the pipe, which then
// fail with an error wrapping os.ErrClosed. Close is idempotent.
func (p *Pipe) Close() error { return p.p.Close() }

// SetDeadline sets the read and write deadlines, as net.Conn does. A Read,
// Write, Splice or Tee waiting on the pipe past the deadline fails with an
// error wrapping os.ErrDeadlineExceeded.
func (p *Pipe) SetDeadline(t time.Time) error { return p.p.SetDeadline(t) }

// SetReadDeadline sets the deadline for waits on the read end.
func (p *Pipe) SetReadDeadline(t time.Time) error { return p.p.SetReadDeadline(t) }

// SetWriteDeadline sets the deadline for waits on the write end.
func (p *Pipe) SetWriteDeadline(t time.Time) error { return p.p.SetWriteDeadline(t) }

// Buffered returns the number of bytes waiting in the pipe (FIONREAD).
//
// Outside Linux it returns an error matching errors.ErrUnsupported.
func (p *Pipe) Buffered() (int, error) { return p.p.Buffered() }

// Cap returns the pipe's capacity in bytes (F_GETPIPE_SZ).
//
// Outside Linux it returns an error matching errors.ErrUnsupported.
func (p *Pipe) Cap() (int, error) { return p.p.Cap() }

// SetCap asks the kernel for a capacity of at least n bytes (F_SETPIPE_SZ)
// and returns the capacity granted, which the kernel rounds up to a power of
// two pages. Unprivileged processes are limited by /proc/sys/fs/pipe-max-size
// and the pipe-user-pages limits; the error then wraps syscall.EPERM and the
// pipe keeps its old capacity.
//
// Outside Linux it returns an error matching errors.ErrUnsupported.
func (p *Pipe) SetCap(n int) (int, error) { return p.p.SetCap(n) }

func init() {
	core.PipeOf = func(x any) (*core.Pipe, bool) {
		p, ok := x.(*Pipe)
		return p.core(), ok
	}
}

// core returns the pipe the core works on, nil for a nil p.
func (p *Pipe) core() *core.Pipe {
	if p == nil {
		return nil
	}
	return &p.p
}
