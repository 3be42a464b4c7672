//go:build linux

package kpipe

import (
	"context"
	"errors"
	"io"
	"os"
	"sync/atomic"
	"time"
)

// aLongTimeAgo is a deadline in the past: setting it wakes every waiter.
var aLongTimeAgo = time.Unix(1, 0)

// pollTransfer is a double splice on the poll backend: the C pipe-in-the-
// middle loop (kp_splice_via) on the caller's goroutine, waiting in Go's
// runtime poller on whichever side is not ready. Cancellation and the idle
// timeout work through deadlines on the private duplicate descriptors, and
// through the flag and clock below where a descriptor is in blocking mode
// (fdOp.waitBlocking).
type pollTransfer struct {
	src, dst     *os.File
	idle         time.Duration
	lastMove     atomic.Int64 // UnixNano of the last progress (idle > 0)
	cancelled    atomic.Bool
	engineClosed atomic.Bool // Engine.Close cancelled the transfer
}

// pollDoubleSplice runs a transfer to dst on the poll backend. It takes
// ownership of p's descriptors.
func (e *Engine) pollDoubleSplice(ctx context.Context, p *fdPair, dst io.Writer) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	cfg := e.cfg
	t := &pollTransfer{
		src:  os.NewFile(uintptr(p.src), "kpipe-src"),
		dst:  os.NewFile(uintptr(p.dst), "kpipe-dst"),
		idle: cfg.IdleTimeout,
	}
	p.src, p.dst = -1, -1 // the files own them now
	defer t.src.Close()
	defer t.dst.Close()
	if err := e.begin(t); err != nil {
		return 0, err
	}
	defer e.end(t)
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, t.cancel)
		defer stop()
	}
	pipe, err := getPipe()
	if err != nil {
		return 0, err
	}
	if cfg.PipeSize > pipe.capacity {
		if granted, err := sysPipeSetSize(int(pipe.w), cfg.PipeSize); err == nil {
			pipe.capacity = granted
		}
	}
	var op fdOp
	op.src.file, op.dst.file = t.src, t.dst
	op.kind, op.n, op.pipe, op.outerIsSrc = opSpliceVia, -1, pipe, true
	op.xfer = t
	if t.idle > 0 {
		t.touch()
	}
	err = op.run()
	var left leftover
	if err != nil && pipe.inPipe > 0 {
		left = pipe.takeAll()
	}
	putPipe(pipe)
	switch {
	case err == nil:
		return op.moved, nil
	case ctx.Err() != nil:
		err = ctx.Err()
	case t.engineClosed.Load():
		err = ErrEngineClosed
	case t.idle > 0 && errors.Is(err, os.ErrDeadlineExceeded):
		err = &os.SyscallError{Syscall: "splice", Err: ErrIdleTimeout}
	}
	return op.moved, undelivered(err, dst, left)
}

// cancel wakes the transfer's waits for good.
func (t *pollTransfer) cancel() {
	t.cancelled.Store(true)
	t.src.SetDeadline(aLongTimeAgo)
	t.dst.SetDeadline(aLongTimeAgo)
}

// touch restarts the idle clock after progress. A cancel racing with it
// wins: cancel sets its flag before its deadlines, touch checks the flag
// after its own.
func (t *pollTransfer) touch() {
	now := time.Now()
	t.lastMove.Store(now.UnixNano())
	d := now.Add(t.idle)
	t.src.SetReadDeadline(d)
	t.dst.SetWriteDeadline(d)
	if t.cancelled.Load() {
		t.cancel()
	}
}

// idleExpired reports whether the transfer has an idle timeout and has
// moved nothing for that long.
func (t *pollTransfer) idleExpired() bool {
	return t.idle > 0 && time.Since(time.Unix(0, t.lastMove.Load())) >= t.idle
}
