package kpipe

import (
	"io"

	"github.com/kpipe/kpipe/internal/core"
)

// Copy copies from src to dst until end of input and returns the bytes
// copied, like io.Copy, by the best means the pair allows:
//
//   - file to file: copy_file_range(2), in the kernel (and on file systems
//     that support it, without copying the data at all);
//   - file to socket: sendfile(2);
//   - a pipe on either side (a *Pipe, os.Pipe, a FIFO): splice(2) to or
//     from it;
//   - any other pair of descriptors: splice(2) through a pooled pipe;
//   - endpoints without descriptors, or descriptors splice refuses: a
//     buffered copy (io.Copy's WriterTo and ReaderFrom are used when there
//     are no descriptors).
//
// A *io.LimitedReader source is honoured: at most N bytes are copied from its
// R and N is decreased accordingly. Endpoints passed in are never switched to
// blocking mode. On descriptors Copy allocates nothing in steady state.
//
// The kernel methods above are Linux's; elsewhere Copy is io.Copy (see
// Implementation).
func Copy(dst io.Writer, src io.Reader) (int64, error) {
	return core.Copy(dst, src)
}
