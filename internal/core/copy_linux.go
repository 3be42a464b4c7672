package core

import (
	"io"
	"sync/atomic"
	"syscall"
)

// spliceStep is the largest step Copy asks of one splice through a *Pipe.
const spliceStep = 1 << 20

// copyMethod is a way Copy moves bytes between two descriptors.
type copyMethod int

const (
	copySplice   copyMethod = iota // splice(2) to or from a pipe
	copyRange                      // copy_file_range(2)
	copySendfile                   // sendfile(2)
	copyPipe                       // splice(2) through a pooled pipe
	copyBuffered                   // read and write through a buffer
	copyMethods
)

// copyCalls counts the Copy calls between descriptors that each method
// completed, so that the tests can tell that zero-copy ran: a buffered
// fallback gives the same bytes.
var copyCalls [copyMethods]atomic.Int64

// copyFDs copies between two fd endpoints, at most limit bytes (< 0: all).
// It reports handled == false, having done nothing, when either side has no
// descriptor.
func copyFDs(dst io.Writer, src io.Reader, limit int64) (n int64, handled bool, err error) {
	var op fdOp
	if !op.src.set(src, false) || !op.dst.set(dst, true) {
		return 0, false, nil
	}
	n, method, err := op.copy(dst, src, limit)
	copyCalls[method].Add(1)
	return n, true, err
}

// copy runs the first method the pair allows, and reports which delivered
// the last bytes.
func (op *fdOp) copy(dst io.Writer, src io.Reader, limit int64) (int64, copyMethod, error) {
	if op.src.pipe != nil || op.dst.pipe != nil {
		n, err := op.spliceDirect(limit, op.src.pipe == nil || op.dst.pipe != nil)
		if err != nil && n == 0 && unsupported(op.errno) {
			// splice refused the pair (an O_APPEND file, ...) before
			// taking anything from src.
			n, err = readWriteCopy(dst, src, limit)
			return n, copyBuffered, err
		}
		return n, copySplice, err
	}
	srcType, dstType, err := op.types()
	if err != nil {
		return 0, copyBuffered, err
	}
	if srcType == fdPipe || dstType == fdPipe {
		// A pipe on one side needs no pipe in the middle.
		n, err := op.spliceDirect(limit, srcType != fdPipe || dstType == fdPipe)
		if err == nil || n > 0 || !unsupported(op.errno) {
			return n, copySplice, err
		}
	}
	if srcType == fdFile && dstType == fdFile {
		if n, err, done := op.copyIn(opCopyRange, true, limit); done {
			return n, copyRange, err
		}
	}
	if (srcType == fdFile || srcType == fdBlock) && dstType == fdSocket {
		if n, err, done := op.copyIn(opSendfile, false, limit); done {
			return n, copySendfile, err
		}
	}
	p, perr := getPipe()
	if perr != nil {
		n, err := readWriteCopy(dst, src, limit)
		return n, copyBuffered, err
	}
	if srcType == fdFile || srcType == fdBlock {
		p.grow()
	}
	op.pipe = p
	n, err, done := op.copyIn(opSpliceVia, true, limit)
	if !done && p.inPipe > 0 {
		// dst refused splice (an O_APPEND file, ...) after the pipe took
		// bytes from src: deliver them by read and write before falling
		// back.
		n, err = p.drainTo(dst)
		done = err != nil
		if limit >= 0 {
			limit -= n
		}
	}
	putPipe(p)
	if done {
		return n, copyPipe, err
	}
	m, err := readWriteCopy(dst, src, limit)
	return n + m, copyBuffered, err
}

// copyIn runs one of the C copy loops. done is false when the kernel refused
// the method before delivering anything, so that the next one can be tried;
// with opSpliceVia the pooled pipe may then hold bytes taken from src.
func (op *fdOp) copyIn(kind opKind, outerIsSrc bool, limit int64) (int64, error, bool) {
	op.kind, op.outerIsSrc, op.n = kind, outerIsSrc, limit
	op.moved, op.eof = 0, false
	err := op.run()
	if err != nil && op.moved == 0 && unsupported(op.errno) {
		return 0, nil, false
	}
	return op.moved, err, true
}

// unsupported reports the errnos with which a kernel refuses a copy method
// for a pair of descriptors (file systems, O_APPEND, old kernels).
func unsupported(errno syscall.Errno) bool {
	switch errno {
	case syscall.EINVAL, syscall.EXDEV, syscall.ENOSYS, syscall.EOPNOTSUPP,
		syscall.EBADF, syscall.EPERM, syscall.ESPIPE:
		return true
	}
	return false
}

// spliceDirect splices between a pipe and another descriptor (or a second
// pipe) until end of input or limit. outerIsSrc says which side to hold
// first: the one that is not a pipe, which is the one likely to wait.
func (op *fdOp) spliceDirect(limit int64, outerIsSrc bool) (int64, error) {
	op.kind = opSplice
	op.outerIsSrc = outerIsSrc
	var total int64
	for limit < 0 || total < limit {
		want := int64(spliceStep)
		if limit >= 0 && limit-total < want {
			want = limit - total
		}
		m, err := op.step(want)
		total += m
		if err != nil || m == 0 {
			return total, err
		}
	}
	return total, nil
}

// types returns what the two descriptors are.
func (op *fdOp) types() (src, dst fdType, err error) {
	op.kind, op.errno = opProbe, 0
	if err = op.src.control(op); err != nil {
		return 0, 0, op.closedErr(err)
	}
	src = op.probed
	if err = op.dst.control(op); err != nil {
		return 0, 0, op.closedErr(err)
	}
	if op.errno != 0 {
		return 0, 0, wrapErrno("fstat", op.errno)
	}
	return src, op.probed, nil
}
