package core

import (
	"context"
	"errors"
	"io"
)

// errRingRefused is what a ring's transfer returns when the ring refused
// the transfer's descriptors before anything moved (EINVAL): one in
// blocking mode that a splice could wait on (a terminal, another character
// device, a socket), which would block the ring's thread, or one that
// splice refuses outright. The poll backend runs such a transfer: it waits
// for a blocking descriptor on a thread of its own, and reports splice's
// own error for the others.
var errRingRefused = errors.New("kpipe: descriptors the ring does not run")

// DoubleSplice implements kpipe.Engine.DoubleSplice, which documents it: a
// transfer on the poll backend, on the caller's descriptors, or on a ring,
// on private duplicates of them (the ring's thread uses them while the
// caller's code runs), or, when the ring refuses them (errRingRefused), on
// the poll backend after all.
func (e *Engine) DoubleSplice(ctx context.Context, dst io.Writer, src io.Reader) (int64, error) {
	if e.backend != BackendIOUring {
		return e.pollDoubleSplice(ctx, dst, src)
	}
	n, err := e.ringDoubleSplice(ctx, dst, src)
	if err == errRingRefused {
		return e.pollDoubleSplice(ctx, dst, src)
	}
	return n, err
}

// ringDoubleSplice runs a transfer on one of the engine's rings.
func (e *Engine) ringDoubleSplice(ctx context.Context, dst io.Writer, src io.Reader) (int64, error) {
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
