package core

import (
	"context"
	"errors"
	"io"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Backend names, as Engine.Backend reports them.
const (
	BackendIOUring = "io_uring"
	BackendPoll    = "poll"
)

// Config implements kpipe.Config, which documents it.
type Config struct {
	Rings       int
	RingEntries int
	PipeSize    int
	IdleTimeout time.Duration
	Backend     string
	ForcePoll   bool
}

// ErrIdleTimeout implements kpipe.ErrIdleTimeout, which documents it.
var ErrIdleTimeout error = idleTimeoutError{}

type idleTimeoutError struct{}

func (idleTimeoutError) Error() string { return "kpipe: transfer idle for longer than IdleTimeout" }

func (idleTimeoutError) Is(target error) bool { return target == syscall.ETIMEDOUT }

// ErrEngineClosed implements kpipe.ErrEngineClosed, which documents it.
var ErrEngineClosed = errors.New("kpipe: engine closed")

// Engine implements kpipe.Engine, which documents it.
type Engine struct {
	cfg     Config
	backend string
	rings   []*ring
	next    atomic.Uint32

	// mu guards the engine's life: transfers register under it, and Close
	// ends them and waits for them before it frees the rings.
	mu      sync.Mutex
	closing bool
	active  int                        // transfers in progress
	polls   map[*pollTransfer]struct{} // the poll backend's transfers
	drained chan struct{}              // closed once closing and active == 0
	down    chan struct{}              // closed when Close has finished
}

// NewEngine implements kpipe.NewEngine, which documents it.
func NewEngine(cfg Config) (*Engine, error) {
	if cfg.Rings <= 0 {
		cfg.Rings = max(1, runtime.NumCPU()/4)
	}
	if cfg.RingEntries <= 0 {
		cfg.RingEntries = 256
	}
	if cfg.PipeSize < 0 || cfg.IdleTimeout < 0 {
		return nil, errors.New("kpipe: negative PipeSize or IdleTimeout")
	}
	backend, err := chooseBackend(cfg)
	if err != nil {
		return nil, err
	}
	e := newEngine(cfg)
	if backend == BackendPoll {
		return e, nil
	}
	if _, err := probeIOUring(); err != nil {
		return e, nil
	}
	for i := 0; i < cfg.Rings; i++ {
		r, err := openRing(cfg)
		if err != nil {
			e.closeRings() // no transfer has started
			if i == 0 {
				// io_uring passed the probe but cannot hold a ring of
				// this size (memlock limits, ...): fall back.
				return newEngine(cfg), nil
			}
			return nil, err
		}
		e.rings = append(e.rings, r)
	}
	e.backend = BackendIOUring
	return e, nil
}

// chooseBackend returns the backend cfg and the environment ask for.
func chooseBackend(cfg Config) (string, error) {
	if cfg.Backend != "" && cfg.Backend != BackendPoll && cfg.Backend != BackendIOUring {
		return "", errors.New("kpipe: unknown Config.Backend " + strconv.Quote(cfg.Backend))
	}
	env := backendFromEnv()
	switch {
	case cfg.ForcePoll || env == BackendPoll:
		return BackendPoll, nil
	case cfg.Backend != "":
		return cfg.Backend, nil
	case env == BackendIOUring:
		return BackendIOUring, nil
	}
	return BackendPoll, nil
}

func newEngine(cfg Config) *Engine {
	return &Engine{
		cfg:     cfg,
		backend: BackendPoll,
		polls:   make(map[*pollTransfer]struct{}),
		drained: make(chan struct{}),
		down:    make(chan struct{}),
	}
}

// Backend implements kpipe.Engine.Backend, which documents it.
func (e *Engine) Backend() string { return e.backend }

// Close implements kpipe.Engine.Close, which documents it.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closing {
		e.mu.Unlock()
		<-e.down
		return nil
	}
	e.closing = true
	if e.active == 0 {
		close(e.drained)
	}
	for t := range e.polls {
		t.engineClosed.Store(true)
		t.cancel()
	}
	e.mu.Unlock()
	// The rings cancel their transfers and refuse new ones, but stay
	// allocated until every transfer has returned: a transfer may still be
	// about to hand its start to a ring.
	for _, r := range e.rings {
		r.shutdown()
	}
	<-e.drained
	e.closeRings()
	close(e.down)
	return nil
}

// closeRings waits for the rings' loops to end and frees the rings.
func (e *Engine) closeRings() {
	for _, r := range e.rings {
		r.close()
	}
}

// begin registers transfers (each t, on the poll backend, so that Close
// can end it; nil for a ring's transfer); it fails once Close has begun.
func (e *Engine) begin(ts ...*pollTransfer) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closing {
		return ErrEngineClosed
	}
	e.active += len(ts)
	for _, t := range ts {
		if t != nil {
			e.polls[t] = struct{}{}
		}
	}
	return nil
}

// end unregisters a transfer that begin registered.
func (e *Engine) end(t *pollTransfer) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if t != nil {
		delete(e.polls, t)
	}
	e.active--
	if e.active == 0 && e.closing {
		close(e.drained)
	}
}

// Proxy implements kpipe.Engine.Proxy, which documents it.
func (e *Engine) Proxy(ctx context.Context, a, b io.ReadWriter) (aToB, bToA int64, err error) {
	if e.backend == BackendPoll {
		return e.pollProxy(ctx, a, b)
	}
	return e.ringProxy(ctx, a, b)
}

// ringProxy runs Proxy on io_uring: a DoubleSplice per direction, the
// second on a goroutine of its own.
func (e *Engine) ringProxy(ctx context.Context, a, b io.ReadWriter) (aToB, bToA int64, err error) {
	inner, cancel := context.WithCancel(ctx)
	defer cancel()
	var errB error
	done := make(chan struct{})
	go func() {
		defer close(done)
		bToA, errB = e.DoubleSplice(inner, a, b)
		if errB == nil {
			errB = closeWrite(a)
		}
		if errB != nil {
			cancel()
		}
	}()
	aToB, err = e.DoubleSplice(inner, b, a)
	if err == nil {
		err = closeWrite(b)
	}
	if err != nil {
		cancel()
	}
	<-done
	return aToB, bToA, proxyError(ctx, err, errB)
}

// proxyError picks the error Proxy reports: a direction's own failure over
// the cancellation it caused in the other direction, and ctx's error when
// the caller cancelled. Bytes either direction held back come with it, one
// *UndeliveredError per direction (errors.Join when both), each wrapping
// the error picked.
func proxyError(ctx context.Context, errs ...error) error {
	var picked error
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			picked = err
			break
		}
	}
	if picked == nil {
		picked = ctx.Err()
	}
	base := picked
	if p, ok := picked.(*UndeliveredError); ok {
		base = p.Err
	}
	var held []error
	for _, err := range errs {
		for _, ue := range Undelivered(err) {
			held = append(held, &UndeliveredError{Err: base, Dst: ue.Dst, Data: ue.Data})
		}
	}
	switch len(held) {
	case 0:
		return picked
	case 1:
		return held[0]
	}
	return errors.Join(held...)
}

// getDefaultEngine returns the engine of DoubleSplice and Proxy, made with
// the default Config on first use.
var getDefaultEngine = sync.OnceValues(func() (*Engine, error) { return NewEngine(Config{}) })

// DoubleSplice implements kpipe.DoubleSplice, which documents it.
func DoubleSplice(ctx context.Context, dst io.Writer, src io.Reader) (int64, error) {
	e, err := getDefaultEngine()
	if err != nil {
		return 0, err
	}
	return e.DoubleSplice(ctx, dst, src)
}

// Proxy implements kpipe.Proxy, which documents it.
func Proxy(ctx context.Context, a, b io.ReadWriter) (aToB, bToA int64, err error) {
	e, err := getDefaultEngine()
	if err != nil {
		return 0, 0, err
	}
	return e.Proxy(ctx, a, b)
}

// DefaultBackend implements kpipe.DefaultBackend, which documents it.
func DefaultBackend() string {
	e, err := getDefaultEngine()
	if err != nil {
		return BackendPoll
	}
	return e.Backend()
}

// pooledPipes reports how many idle pipes the engine's rings keep for
// reuse (each holds two descriptors). The engine must be open.
func (e *Engine) pooledPipes() int {
	n := 0
	for _, r := range e.rings {
		n += r.pooledPipes()
	}
	return n
}

// closeWrite half-closes x after its direction of a proxy ended: CloseWrite
// where x has it (*net.TCPConn, *net.UnixConn, *Pipe, ...), shutdown(SHUT_WR)
// for other sockets. A peer already gone (ENOTCONN) is not an error.
func closeWrite(x any) error {
	var err error
	switch c := x.(type) {
	case interface{ CloseWrite() error }:
		err = c.CloseWrite()
	case syscall.Conn:
		err = shutdownWrite(c)
	}
	if err != nil && errors.Is(err, syscall.ENOTCONN) {
		return nil
	}
	return err
}

// backendEnv is the environment variable that picks a backend: "poll"
// forces the runtime-poller backend on every Engine; "io_uring" makes
// io_uring the default of engines whose Config leaves Backend empty.
const backendEnv = "KPIPE_BACKEND"

// backendFromEnv returns BackendPoll or BackendIOUring as KPIPE_BACKEND
// says, or "" when it is unset or names neither.
func backendFromEnv() string {
	switch v := os.Getenv(backendEnv); v {
	case BackendPoll, BackendIOUring:
		return v
	}
	return ""
}
