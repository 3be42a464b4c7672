//go:build linux

package kpipe

import (
	"context"
	"io"
)

// doubleSplice runs a transfer on private duplicates of the descriptors of
// dst and src, on a ring or on the poll backend.
func (e *Engine) doubleSplice(ctx context.Context, dst io.Writer, src io.Reader) (int64, error) {
	var pair fdPair
	if err := pair.dup(dst, src); err != nil {
		return 0, err
	}
	defer pair.close()
	if e.backend == BackendIOUring {
		if err := e.begin(nil); err != nil {
			return 0, err
		}
		defer e.end(nil)
		r := e.rings[int(e.next.Add(1))%len(e.rings)]
		n, left, err := r.transfer(ctx, pair.src, pair.dst, e.cfg.IdleTimeout)
		return n, undelivered(err, dst, left)
	}
	return e.pollDoubleSplice(ctx, &pair, dst)
}
