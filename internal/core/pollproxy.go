package core

import (
	"context"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// pollTransfers keeps transfers for reuse: a steady stream of DoubleSplice
// calls on the poll backend allocates nothing.
var pollTransfers = sync.Pool{New: func() any { return new(pollTransfer) }}

// pollDoubleSplice runs a transfer from src to dst on the poll backend.
func (e *Engine) pollDoubleSplice(ctx context.Context, dst io.Writer, src io.Reader) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	t := pollTransfers.Get().(*pollTransfer)
	if !t.prepare(e, dst, src) {
		pollTransfers.Put(t)
		return 0, ErrNoFD
	}
	// Ready before registered: Close may cancel t as soon as it is.
	t.start(src, dst, e.cfg.IdleTimeout)
	if err := e.begin(t); err != nil {
		t.finish()
		pollTransfers.Put(t)
		return 0, err
	}
	var stop func() bool
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, t.cancel)
	}
	n, err := t.run(ctx, e, dst)
	if stop == nil || stop() {
		// No cancellation can still be running on t: it may serve
		// another call.
		pollTransfers.Put(t)
	}
	return n, err
}

// pollProxy is one Proxy on the poll backend: its two directions, run by the
// caller's goroutine (a to b) and a helper goroutine (b to a). Proxies and
// helpers are kept for reuse, so that a steady stream of Proxy calls
// allocates nothing.
type pollProxy struct {
	ab, ba pollTransfer
	a, b   io.ReadWriter
	ctx    context.Context
	e      *Engine
	nBA    int64
	errBA  error
	done   chan struct{} // the helper has finished b to a
	cancel func()        // cancels both directions (bound once)
}

var pollProxies = sync.Pool{New: func() any {
	p := &pollProxy{done: make(chan struct{}, 1)}
	p.cancel = p.cancelBoth
	return p
}}

// pollProxy runs Proxy on the poll backend.
func (e *Engine) pollProxy(ctx context.Context, a, b io.ReadWriter) (aToB, bToA int64, err error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	p := pollProxies.Get().(*pollProxy)
	if !p.ab.prepare(e, b, a) || !p.ba.prepare(e, a, b) {
		pollProxies.Put(p)
		return 0, 0, ErrNoFD
	}
	p.ab.start(a, b, e.cfg.IdleTimeout)
	p.ba.start(b, a, e.cfg.IdleTimeout)
	if err := e.begin(&p.ab, &p.ba); err != nil {
		p.ab.finish()
		p.ba.finish()
		pollProxies.Put(p)
		return 0, 0, err
	}
	p.a, p.b, p.ctx, p.e = a, b, ctx, e
	var stop func() bool
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, p.cancel)
	}
	startHelper(p)
	aToB, err = p.ab.run(ctx, e, b)
	if err == nil {
		err = closeWrite(b)
	}
	if err != nil {
		p.ba.abort()
	}
	<-p.done
	bToA, errB := p.nBA, p.errBA
	p.a, p.b, p.ctx, p.e, p.errBA = nil, nil, nil, nil, nil
	if stop == nil || stop() {
		pollProxies.Put(p)
	}
	return aToB, bToA, proxyError(ctx, err, errB)
}

// runBA runs the b to a direction on a helper goroutine, which then hands p
// back through p.done.
func (p *pollProxy) runBA() {
	n, err := p.ba.run(p.ctx, p.e, p.a)
	if err == nil {
		err = closeWrite(p.a)
	}
	if err != nil {
		p.ab.abort()
	}
	p.nBA, p.errBA = n, err
}

// cancelBoth ends both directions when the caller's context is done.
func (p *pollProxy) cancelBoth() {
	p.ab.cancel()
	p.ba.cancel()
}

// helperIdle is how long a helper goroutine waits for another Proxy before
// it exits.
const helperIdle = 2 * time.Second

// proxyHelpers are the goroutines that run the b to a directions of Proxy
// calls. idle counts those waiting for work; a Proxy that takes one from the
// count hands its work over work, which that helper is then bound to
// receive.
var proxyHelpers struct {
	idle atomic.Int32
	work chan *pollProxy
}

func init() { proxyHelpers.work = make(chan *pollProxy, 64) }

// startHelper runs p's b to a direction on an idle helper goroutine, or on
// a new one when none is idle.
func startHelper(p *pollProxy) {
	for {
		n := proxyHelpers.idle.Load()
		if n <= 0 {
			go proxyHelper(p)
			return
		}
		if proxyHelpers.idle.CompareAndSwap(n, n-1) {
			proxyHelpers.work <- p
			return
		}
	}
}

// proxyHelper runs the b to a directions of Proxy calls until none has come
// for helperIdle.
func proxyHelper(p *pollProxy) {
	var idle *time.Timer
	for {
		p.runBA()
		if idle == nil {
			idle = time.NewTimer(helperIdle)
		} else {
			idle.Reset(helperIdle)
		}
		// Idle before p is handed back, so that the caller's next
		// Proxy finds this helper.
		proxyHelpers.idle.Add(1)
		p.done <- struct{}{} // p belongs to the caller again
		select {
		case p = <-proxyHelpers.work:
			if !idle.Stop() {
				// Timers of modules before Go 1.23 may still hold a tick.
				select {
				case <-idle.C:
				default:
				}
			}
		case <-idle.C:
			if leaveHelpers() {
				return
			}
			// A Proxy counted on this helper meanwhile.
			p = <-proxyHelpers.work
		}
	}
}

// leaveHelpers takes a helper out of the idle count, unless a Proxy has
// already claimed every idle helper; it reports whether it did.
func leaveHelpers() bool {
	for {
		n := proxyHelpers.idle.Load()
		if n <= 0 {
			return false
		}
		if proxyHelpers.idle.CompareAndSwap(n, n-1) {
			return true
		}
	}
}
