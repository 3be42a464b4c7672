package core

import (
	"os"
	"strconv"
)

// Open opens the pipe p holds, which must be a zero Pipe.
func (p *Pipe) Open() error {
	r, w, _, errno := sysPipeOpen(true, 0)
	if errno != 0 {
		return os.NewSyscallError("pipe2", errno)
	}
	// os.NewFile registers non-blocking descriptors with the runtime poller.
	p.r = os.NewFile(uintptr(r), "kpipe|"+strconv.Itoa(r))
	p.w = os.NewFile(uintptr(w), "kpipe|"+strconv.Itoa(w))
	return nil
}

// Buffered implements kpipe.Pipe.Buffered, which documents it.
func (p *Pipe) Buffered() (int, error) {
	return p.readEndInt(sysPipeBuffered)
}

// Cap implements kpipe.Pipe.Cap, which documents it.
func (p *Pipe) Cap() (int, error) {
	return p.readEndInt(sysPipeSize)
}

// SetCap implements kpipe.Pipe.SetCap, which documents it.
func (p *Pipe) SetCap(n int) (int, error) {
	var granted int
	var err error
	cerr := p.control(p.r, func(fd int) { granted, err = sysPipeSetSize(fd, n) })
	if cerr != nil {
		return 0, cerr
	}
	return granted, err
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
