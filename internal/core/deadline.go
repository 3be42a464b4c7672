package core

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// aLongTimeAgo is a deadline in the past: setting it wakes every waiter.
var aLongTimeAgo = time.Unix(1, 0)

// deadliner is an endpoint whose waits a deadline can end: *os.File,
// net.Conn, *Pipe.
type deadliner interface {
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// xferDeadlines ends the waits of a poll-backend transfer, which runs on the
// caller's own descriptors: cancellation sets src's read deadline and dst's
// write deadline in the past, the idle timeout sets them IdleTimeout ahead
// after each progress, and finish clears them once the transfer is over, so
// that the caller gets its endpoints back without deadlines. A deadline the
// caller set before the transfer ends it as it would end io.Copy.
// Descriptors that have no deadlines (blocking mode) are waited for in
// slices that look at cancelled and the idle clock.
type xferDeadlines struct {
	src, dst     deadliner // nil when the endpoint has no deadlines
	idle         time.Duration
	engineClosed atomic.Bool  // Engine.Close cancelled the transfer
	aborted      atomic.Bool  // the other direction of a Proxy failed and ended this one
	cancelled    atomic.Bool  // set under mu, read without it
	lastMove     atomic.Int64 // UnixNano of the last progress (idle > 0)

	mu       sync.Mutex // orders the deadline changes
	finished bool       // the transfer has returned: deadlines are the caller's again
	armed    bool       // the transfer set a deadline that finish must clear
}

// start readies the deadlines of a transfer between src and dst.
func (t *xferDeadlines) start(src, dst any, idle time.Duration) {
	t.src, _ = src.(deadliner)
	t.dst, _ = dst.(deadliner)
	t.idle = idle
	t.engineClosed.Store(false)
	t.aborted.Store(false)
	t.cancelled.Store(false)
	t.finished, t.armed = false, false
	if idle > 0 {
		t.touch()
	}
}

// cancel wakes the transfer's waits for good.
func (t *xferDeadlines) cancel() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.finished {
		return
	}
	t.cancelled.Store(true)
	t.setDeadlines(aLongTimeAgo)
}

// touch restarts the idle clock after progress, unless the transfer was
// cancelled.
func (t *xferDeadlines) touch() {
	now := time.Now()
	t.lastMove.Store(now.UnixNano())
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.cancelled.Load() && !t.finished {
		t.setDeadlines(now.Add(t.idle))
	}
}

// idleExpired reports whether the transfer has an idle timeout and has
// moved nothing for that long.
func (t *xferDeadlines) idleExpired() bool {
	return t.idle > 0 && time.Since(time.Unix(0, t.lastMove.Load())) >= t.idle
}

// finish ends the transfer's use of deadlines: the caller's endpoints are
// left without any, and a cancel that comes later does nothing.
func (t *xferDeadlines) finish() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.finished = true
	if t.armed {
		t.setDeadlines(time.Time{})
	}
	t.src, t.dst = nil, nil
}

// setDeadlines sets src's read deadline and dst's write deadline.
func (t *xferDeadlines) setDeadlines(d time.Time) {
	t.armed = true
	if t.src != nil {
		t.src.SetReadDeadline(d)
	}
	if t.dst != nil {
		t.dst.SetWriteDeadline(d)
	}
}

// abort ends the transfer on behalf of the other direction of its Proxy.
func (t *xferDeadlines) abort() {
	t.aborted.Store(true)
	t.cancel()
}

// endErr is the error a transfer that failed with err reports: ctx's error
// when ctx ended it, ErrEngineClosed, context.Canceled when the other
// direction of its Proxy ended it, and an error wrapping ErrIdleTimeout
// (from the system call named call) when its idle deadline passed.
func (t *xferDeadlines) endErr(ctx context.Context, err error, call string) error {
	switch {
	case err == nil:
	case ctx.Err() != nil:
		err = ctx.Err()
	case t.engineClosed.Load():
		err = ErrEngineClosed
	case t.aborted.Load():
		err = context.Canceled
	case t.idle > 0 && errors.Is(err, os.ErrDeadlineExceeded):
		err = &os.SyscallError{Syscall: call, Err: ErrIdleTimeout}
	}
	return err
}
