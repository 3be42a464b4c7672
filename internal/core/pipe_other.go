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

// Buffered is kpipe.Pipe.Buffered outside Linux.
func (p *Pipe) Buffered() (int, error) {
	return 0, errPipeQueryLinuxOnly
}

// Cap is kpipe.Pipe.Cap outside Linux.
func (p *Pipe) Cap() (int, error) {
	return 0, errPipeQueryLinuxOnly
}

// SetCap is kpipe.Pipe.SetCap outside Linux.
func (p *Pipe) SetCap(n int) (int, error) {
	return 0, errPipeQueryLinuxOnly
}
