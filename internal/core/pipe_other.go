//go:build !linux

package core

import (
	"errors"
	"fmt"
	"os"
)

// errPipeQueryLinuxOnly is what Buffered, Cap and SetCap return outside
// Linux.
var errPipeQueryLinuxOnly = fmt.Errorf("kpipe: pipe capacity and fill level are Linux-only: %w", errors.ErrUnsupported)

// Open opens the pipe p holds, which must be a zero Pipe, with os.Pipe.
func (p *Pipe) Open() error {
	var err error
	p.r, p.w, err = os.Pipe()
	return err
}

// Buffered returns the number of bytes waiting in the pipe; outside Linux
// it returns an error matching errors.ErrUnsupported.
func (p *Pipe) Buffered() (int, error) {
	return 0, errPipeQueryLinuxOnly
}

// Cap returns the pipe's capacity in bytes; outside Linux it returns an
// error matching errors.ErrUnsupported.
func (p *Pipe) Cap() (int, error) {
	return 0, errPipeQueryLinuxOnly
}

// SetCap asks for a capacity of at least n bytes; outside Linux it returns
// an error matching errors.ErrUnsupported.
func (p *Pipe) SetCap(n int) (int, error) {
	return 0, errPipeQueryLinuxOnly
}
