//go:build !linux

package kpipe

import (
	"errors"
	"fmt"
	"os"
)

// errPipeQueryLinuxOnly is what Buffered, Cap and SetCap return outside
// Linux.
var errPipeQueryLinuxOnly = fmt.Errorf("kpipe: pipe capacity and fill level are Linux-only: %w", errors.ErrUnsupported)

// NewPipe opens a pipe with os.Pipe.
func NewPipe() (*Pipe, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	return &Pipe{r: r, w: w}, nil
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
