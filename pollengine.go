//go:build linux

package kpipe

import (
	"context"
	"errors"
	"os"
	"sync/atomic"
	"time"
)

// aLongTimeAgo is a deadline in the past: setting it wakes every waiter.
var aLongTimeAgo = time.Unix(1, 0)

// pollTransfer is a double splice on the poll backend: the C pipe-in-the-
// middle loop (kp_splice_via) on the caller's goroutine, waiting in Go's
// runtime poller on whichever side is not ready. Cancellation and the idle
// timeout work through deadlines on the private duplicate descriptors.
type pollTransfer struct {
	src, dst     *os.File
	idle         time.Duration
	cancelled    atomic.Bool
	engineClosed atomic.Bool // Engine.Close cancelled the transfer
}

// pollDoubleSplice runs a transfer on the poll backend. It takes ownership
// of p's descriptors.
func (e *Engine) pollDoubleSplice(ctx context.Context, p *fdPair) (int64, error) {
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
	if t.idle > 0 {
		op.progress = t
		t.touch()
	}
	err = op.run()
	putPipe(pipe)
	switch {
	case err == nil:
		return op.moved, nil
	case ctx.Err() != nil:
		return op.moved, ctx.Err()
	case t.engineClosed.Load():
		return op.moved, ErrEngineClosed
	case t.idle > 0 && errors.Is(err, os.ErrDeadlineExceeded):
		return op.moved, &os.SyscallError{Syscall: "splice", Err: ErrIdleTimeout}
	}
	return op.moved, err
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
	d := time.Now().Add(t.idle)
	t.src.SetReadDeadline(d)
	t.dst.SetWriteDeadline(d)
	if t.cancelled.Load() {
		t.cancel()
	}
}
