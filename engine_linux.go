//go:build linux

package kpipe

import (
	"context"
	"io"
)

// doubleSplice runs a transfer on the poll backend, on the caller's
// descriptors, or on a ring, on private duplicates of them (the ring's
// thread uses them while the caller's code runs).
func (e *Engine) doubleSplice(ctx context.Context, dst io.Writer, src io.Reader) (int64, error) {
	if e.backend != BackendIOUring {
		return e.pollDoubleSplice(ctx, dst, src)
	}
	var pair fdPair
	if err := pair.dup(dst, src); err != nil {
		return 0, err
	}
	defer pair.close()
	if err := e.begin(nil); err != nil {
		return 0, err
	}
	defer e.end(nil)
	r := e.rings[int(e.next.Add(1))%len(e.rings)]
	n, left, err := r.transfer(ctx, pair.src, pair.dst, e.cfg.IdleTimeout)
	return n, undelivered(err, dst, left)
}
