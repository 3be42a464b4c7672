package core

import (
	"context"
	"io"
)

// pollTransfer is a double splice on the poll backend: the C pipe-in-the-
// middle loop (kp_splice_via) on the caller's goroutine and on the caller's
// own descriptors, waiting in Go's runtime poller on whichever side is not
// ready. It holds a pooled pipe only while there are bytes to move: a
// direction whose pipe is empty and whose source would block gives the pipe
// back before it waits (fdOp.releaseIdlePipe), so an idle transfer costs no
// descriptor.
type pollTransfer struct {
	xferDeadlines
	op       fdOp
	pipeSize int // Config.PipeSize
}

// prepare readies t for a transfer from src to dst; it reports false when
// either has no descriptor.
func (t *pollTransfer) prepare(e *Engine, dst io.Writer, src io.Reader) bool {
	t.pipeSize = e.cfg.PipeSize
	t.op = fdOp{}
	op := &t.op
	if !op.src.set(src, false) || !op.dst.set(dst, true) {
		t.op = fdOp{}
		return false
	}
	op.kind, op.n, op.outerIsSrc, op.xfer = opSpliceVia, -1, true, t
	return true
}

// run runs the transfer that prepare readied and begin registered,
// unregisters it from e and returns what reached dst and why it ended.
func (t *pollTransfer) run(ctx context.Context, e *Engine, dst io.Writer) (int64, error) {
	op := &t.op
	err := op.run()
	t.finish()
	e.end(t)
	var left leftover
	if p := op.pipe; p != nil {
		if err != nil && p.inPipe > 0 {
			left = p.takeAll()
		}
		putPipe(p)
	}
	n := op.moved
	t.op = fdOp{} // the pool keeps no reference to the caller's values
	return n, undelivered(t.endErr(ctx, err, "splice"), dst, left)
}
