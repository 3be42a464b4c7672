//go:build !linux

package core

import "io"

// chunksSpliced hands every stream to the buffered path: splice(2) is
// Linux-only.
func (f *chunkFramer) chunksSpliced(src io.Reader) (int64, error) {
	return 0, errSpliceRefused
}
