package core

import (
	"io"
	"os"
)

// Splice implements kpipe.Splice, which documents it.
func Splice(dst io.Writer, src io.Reader, n int64) (int64, error) {
	_, srcIsPipe := asPipe(src)
	_, dstIsPipe := asPipe(dst)
	if !srcIsPipe && !dstIsPipe {
		return 0, ErrNeedPipe
	}
	var op fdOp
	if !op.src.set(src, false) || !op.dst.set(dst, true) {
		return 0, ErrNoFD
	}
	op.kind = opSplice
	// Hold the non-pipe side first: it is the one most likely to wait.
	op.outerIsSrc = !srcIsPipe || dstIsPipe
	if n >= 0 {
		return op.step(n)
	}
	var total int64
	for {
		m, err := op.step(-n)
		total += m
		if err != nil || m == 0 {
			return total, err
		}
	}
}

// Tee implements kpipe.Tee, which documents it.
func Tee(dst, src *Pipe, n int64) (int64, error) {
	if n < 0 {
		n = -n
	}
	var op fdOp
	if !op.src.set(src, false) || !op.dst.set(dst, true) {
		return 0, ErrNoFD
	}
	op.kind = opTee
	op.outerIsSrc = true
	return op.step(n)
}

// step runs one splice or tee of up to n bytes.
func (op *fdOp) step(n int64) (int64, error) {
	if n == 0 {
		return 0, nil
	}
	op.n, op.moved, op.eof = n, 0, false
	err := op.run()
	if err == nil && op.eof && op.src.pipe != nil && op.src.pipe.rClosed.Load() {
		// End of input because Close closed the write end under us.
		err = &os.PathError{Op: opNames[op.kind], Path: "kpipe", Err: os.ErrClosed}
	}
	return op.moved, err
}
