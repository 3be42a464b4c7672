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

// Splice moves data between src and dst with splice(2), which only Linux
// has: elsewhere it returns an error matching errors.ErrUnsupported. Copy
// moves data between any two endpoints on every platform.
func Splice(dst io.Writer, src io.Reader, n int64) (int64, error) {
	return 0, errSpliceLinuxOnly
}

// Tee duplicates bytes from one pipe to another with tee(2), which only
// Linux has: elsewhere it returns an error matching errors.ErrUnsupported.
func Tee(dst, src *Pipe, n int64) (int64, error) {
	return 0, errSpliceLinuxOnly
}
