package kpipe

import (
	"context"
	"io"
	"time"

	"github.com/kpipe/kpipe/internal/core"
)

// Backend names, as Engine.Backend reports them.
const (
	BackendIOUring = "io_uring"
	BackendPoll    = "poll"
)

// Config configures an Engine. The zero value is ready to use.
type Config struct {
	// Rings is the number of io_uring rings, each driven by one locked OS
	// thread. 0 picks one ring per four CPUs, at least one.
	Rings int
	// RingEntries is the submission queue size of each ring; 0 means 256.
	RingEntries int
	// PipeSize is the capacity asked for the pipe a transfer moves its
	// bytes through; 0 means the kernel's default (64 KiB) to begin with,
	// grown to 1 MiB once a transfer has moved a pipe's worth. The kernel
	// may refuse growth (pipe-user-pages limits); transfers then run on
	// smaller pipes.
	PipeSize int
	// IdleTimeout ends a transfer that moves no byte for that long with an
	// error wrapping ErrIdleTimeout. 0 means no limit.
	IdleTimeout time.Duration
	// Backend chooses the backend: BackendPoll, BackendIOUring (where the
	// kernel allows it; the poll backend otherwise), or "" for the default,
	// which is the poll backend unless KPIPE_BACKEND=io_uring is set. Poll
	// is the default because it measured less CPU per GiB than io_uring on
	// loopback proxies: the ring's thread runs the same splices, and adds
	// the hand-over of every transfer between it and the calling goroutine
	// (see the README for the figures).
	Backend string
	// ForcePoll selects the runtime-poller backend whatever Backend says.
	// The environment variable KPIPE_BACKEND=poll does the same for every
	// Engine.
	ForcePoll bool
}

// ErrIdleTimeout is wrapped by the error of a transfer that made no progress
// for Config.IdleTimeout. It also matches syscall.ETIMEDOUT.
var ErrIdleTimeout = core.ErrIdleTimeout

// ErrEngineClosed is returned by calls on a closed Engine, and by transfers
// that Close ended.
var ErrEngineClosed = core.ErrEngineClosed

// Engine runs double splices: src -> private pipe -> dst, with both splices
// in flight at once, until src's end of input. On io_uring a C event loop per
// ring owns every transfer and Go hears of a transfer only when it ends; on
// the poll backend the calling goroutine drives the same loop through Go's
// runtime poller. Outside Linux there is no splice: the poll backend copies
// through a buffer there (see Implementation). Either way no OS thread waits on behalf of an idle
// transfer. An Engine is safe for concurrent use.
type Engine struct {
	e *core.Engine
}

// NewEngine starts an engine on the backend cfg.Backend names. Asked for
// io_uring, it falls back to the poll backend where the kernel refuses
// io_uring (a seccomp profile, the kernel.io_uring_disabled sysctl) or lacks
// the operations the engine needs, in builds without the C core (see
// Implementation), and whenever cfg.ForcePoll or
// KPIPE_BACKEND=poll says so. Engine.Backend reports the outcome.
func NewEngine(cfg Config) (*Engine, error) {
	e, err := core.NewEngine(core.Config(cfg))
	if err != nil {
		return nil, err
	}
	return &Engine{e}, nil
}

// Backend reports the backend in use: "io_uring" or "poll".
func (e *Engine) Backend() string { return e.e.Backend() }

// Close ends the engine: transfers in progress end with ErrEngineClosed,
// and Close returns once they have all returned and the rings' threads have
// exited. Close is idempotent.
func (e *Engine) Close() error { return e.e.Close() }

// DoubleSplice moves everything from src to dst through a private pipe,
// with the splice into the pipe and the splice out of it in flight at once,
// until src reaches end of input. Both must have file descriptors (else
// ErrNoFD). It returns the bytes delivered to dst.
//
// When ctx is done the transfer is cancelled in the kernel and DoubleSplice
// returns ctx.Err() once the kernel has let go of the transfer's pipe,
// within milliseconds on every backend, descriptors in blocking mode
// included; src and dst stay open and usable.
//
// The poll backend works on the caller's own descriptors, as io.Copy does:
// a read deadline on src or a write deadline on dst ends the transfer with
// an error wrapping os.ErrDeadlineExceeded, and closing either ends it.
// Cancellation and Config.IdleTimeout act through those same deadlines
// (src's read deadline, dst's write deadline), which the transfer clears
// when it returns; a deadline the caller set is then gone. The pipe in the
// middle comes from a pool and goes back to it whenever it is empty and
// src has nothing to read, so an idle transfer holds no descriptor. The
// io_uring backend's ring works on private duplicates of the descriptors
// instead: there, closing src or dst does not end a transfer; cancel ctx
// (or shut the socket down).
//
// Nothing is lost when a transfer ends early (cancellation, Close,
// IdleTimeout, a destination that fails): bytes already taken from src
// that did not reach dst come back in an *UndeliveredError, which wraps
// the reason. The count returned is always what reached dst. (The one
// exception is an io_uring loop that the kernel itself stops, which
// io_uring_enter failing would: its transfers end with that error, and the
// bytes in their pipes go with the ring.)
func (e *Engine) DoubleSplice(ctx context.Context, dst io.Writer, src io.Reader) (int64, error) {
	n, err := e.e.DoubleSplice(ctx, dst, src)
	return n, undelivered(err)
}

// Proxy runs DoubleSplice in both directions at once, a to b and b to a.
// When one direction reaches end of input, the write side of its destination
// is closed (CloseWrite, shutdown(SHUT_WR)) and the other direction keeps
// running. Proxy returns when both directions are done, or at the first
// error (the other direction is then cancelled), or when ctx is done. The
// error of a connection reset wraps syscall.ECONNRESET. Bytes a direction
// had taken and not delivered when it ended come back as for DoubleSplice:
// Undelivered(err) lists one *UndeliveredError per such direction.
func (e *Engine) Proxy(ctx context.Context, a, b io.ReadWriter) (aToB, bToA int64, err error) {
	aToB, bToA, err = e.e.Proxy(ctx, a, b)
	return aToB, bToA, undelivered(err)
}

// DoubleSplice runs Engine.DoubleSplice on the package's default engine,
// NewEngine(Config{}): the poll backend, or io_uring with
// KPIPE_BACKEND=io_uring where the kernel allows it.
func DoubleSplice(ctx context.Context, dst io.Writer, src io.Reader) (int64, error) {
	n, err := core.DoubleSplice(ctx, dst, src)
	return n, undelivered(err)
}

// Proxy runs Engine.Proxy on the package's default engine.
func Proxy(ctx context.Context, a, b io.ReadWriter) (aToB, bToA int64, err error) {
	aToB, bToA, err = core.Proxy(ctx, a, b)
	return aToB, bToA, undelivered(err)
}

// DefaultBackend reports the backend of the package's default engine.
func DefaultBackend() string { return core.DefaultBackend() }
