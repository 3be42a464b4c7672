//go:build !linux

package core

import (
	"errors"
	"fmt"
	"io"
)

// implementation is what Implementation reports.
const implementation = ImplPortable

// errSpliceLinuxOnly is what Splice and Tee return outside Linux.
var errSpliceLinuxOnly = fmt.Errorf("kpipe: splice and tee are Linux-only: %w", errors.ErrUnsupported)

// Splice is kpipe.Splice outside Linux.
func Splice(dst io.Writer, src io.Reader, n int64) (int64, error) {
	return 0, errSpliceLinuxOnly
}

// Tee is kpipe.Tee outside Linux.
func Tee(dst, src *Pipe, n int64) (int64, error) {
	return 0, errSpliceLinuxOnly
}
