package core

import (
	"bytes"
	"errors"
	"io"
	"sync"
)

// Copy implements kpipe.Copy, which documents it.
func Copy(dst io.Writer, src io.Reader) (int64, error) {
	lr, limited := src.(*io.LimitedReader)
	if limited {
		if lr.N <= 0 {
			return 0, nil
		}
		n, handled, err := copyFDs(dst, lr.R, lr.N)
		if handled {
			lr.N -= n
			return n, err
		}
		return io.Copy(dst, lr)
	}
	n, handled, err := copyFDs(dst, src, -1)
	if handled {
		return n, err
	}
	return io.Copy(dst, src)
}

// copyBufSize is the buffer of the read/write fallback.
const copyBufSize = 256 << 10

var copyBufs = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// errInvalidWrite is a Write that reported more bytes than it was given.
var errInvalidWrite = errors.New("kpipe: invalid write result")

// readWriteCopy is the fallback for descriptors that no zero-copy method
// serves: a plain read/write loop through a pooled buffer.
func readWriteCopy(dst io.Writer, src io.Reader, limit int64) (int64, error) {
	n, _, err := bufferedCopy(dst, src, limit)
	return n, err
}

// bufferedCopy is readWriteCopy that also returns, in a new slice, the
// bytes it read and could not write when dst failed.
func bufferedCopy(dst io.Writer, src io.Reader, limit int64) (int64, []byte, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	var total int64
	for limit < 0 || total < limit {
		b := buf
		if limit >= 0 && limit-total < int64(len(b)) {
			b = b[:limit-total]
		}
		nr, rerr := src.Read(b)
		if nr > 0 {
			nw, werr := dst.Write(b[:nr])
			if nw < 0 || nw > nr {
				nw = 0 // as io.Copy, a count out of range wrote nothing
				if werr == nil {
					werr = errInvalidWrite
				}
			}
			total += int64(nw)
			if werr == nil && nw != nr {
				werr = io.ErrShortWrite
			}
			if werr != nil {
				return total, bytes.Clone(b[nw:nr]), werr
			}
		}
		if rerr == io.EOF {
			return total, nil, nil
		}
		if rerr != nil {
			return total, nil, rerr
		}
	}
	return total, nil, nil
}
