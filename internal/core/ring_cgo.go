//go:build linux && cgo

package core

// #include "kpipe.h"
import "C"

import (
	"context"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// ring is one io_uring and the locked OS thread that drives its C event
// loop. That thread runs every transfer's splices itself, with splice(2),
// and uses the ring only to wait for its descriptors (polls) in batches.
// Transfers are handed to the loop by token; the loop reports each
// transfer once, when it ends, and only then does Go hear of it.
type ring struct {
	c       *C.kp_ring
	mu      sync.Mutex
	waiters map[uint64]*waiter
	token   uint64
	dead    syscall.Errno // why the loop stopped, once it has (under mu)
	exited  chan struct{}
}

// waiter is where a transfer's end is delivered; pooled so that a transfer
// costs no allocation in steady state.
type waiter struct {
	done  chan struct{}
	moved int64
	errno syscall.Errno
	left  leftover
}

// takeLeftover reads the bytes a kp_done hands over and closes their pipe.
func takeLeftover(d *C.kp_done) leftover {
	if d.leftover_fd < 0 {
		return leftover{}
	}
	p := poolPipe{r: int(d.leftover_fd), w: -1, inPipe: int64(d.leftover)}
	left := p.takeAll()
	p.close()
	return left
}

var waiters = sync.Pool{New: func() any { return &waiter{done: make(chan struct{}, 1)} }}

// ringReport is how many ended transfers one turn of the C loop may report.
const ringReport = 64

func openRing(cfg Config) (*ring, error) {
	var c *C.kp_ring
	if rc := C.kp_ring_open(&c, C.uint(cfg.RingEntries), C.int(cfg.PipeSize)); rc < 0 {
		return nil, wrapErrno("io_uring_setup", syscall.Errno(-rc))
	}
	r := &ring{c: c, waiters: make(map[uint64]*waiter), exited: make(chan struct{})}
	started := make(chan struct{})
	go r.loop(started)
	<-started
	return r, nil
}

// loop runs the C event loop on a thread of its own for the ring's whole
// life: a ring's requests belong to the thread that submits them, and a
// submitter's exit cancels them. The loop blocks SIGPIPE in that thread, so
// that a splice to a vanished peer reports EPIPE.
func (r *ring) loop(started chan<- struct{}) {
	runtime.LockOSThread() // never unlocked: the thread ends with the ring
	close(started)
	done := make([]C.kp_done, ringReport)
	var lefts [ringReport]leftover
	for {
		n := C.kp_ring_run(r.c, &done[0], C.int(len(done)))
		if n < 0 {
			r.failAll(syscall.Errno(-n))
			break
		}
		// Held bytes are read back outside the lock, which transfers
		// that start take.
		for i := 0; i < int(n); i++ {
			lefts[i] = takeLeftover(&done[i])
		}
		r.mu.Lock()
		for i := 0; i < int(n); i++ {
			d := &done[i]
			if w, ok := r.waiters[uint64(d.token)]; ok {
				delete(r.waiters, uint64(d.token))
				w.moved, w.errno, w.left = int64(d.moved), syscall.Errno(d.err), lefts[i]
				w.done <- struct{}{}
			}
			lefts[i] = leftover{}
		}
		r.mu.Unlock()
	}
	close(r.exited)
}

// failAll ends every waiter when the loop stops; after a shutdown there are
// none left, since the loop reports every transfer before it stops.
func (r *ring) failAll(errno syscall.Errno) {
	if errno == syscall.ESHUTDOWN {
		errno = syscall.ECANCELED
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dead = errno
	for token, w := range r.waiters {
		delete(r.waiters, token)
		w.errno = errno
		w.done <- struct{}{}
	}
}

// shutdown cancels every transfer and makes the ring refuse new ones; the
// loop reports the cancelled transfers and ends.
func (r *ring) shutdown() {
	C.kp_ring_shutdown(r.c)
}

// close waits for the loop's thread to end and frees the ring. Nothing may
// use the ring afterwards: the engine calls it once every transfer has
// returned.
func (r *ring) close() {
	C.kp_ring_shutdown(r.c)
	<-r.exited
	C.kp_ring_close(r.c)
	r.c = nil
}

// transfer runs one double splice from src to dst (private duplicates the
// caller closes) and waits, parked, for its end. It returns the bytes
// delivered, and those taken from src and not delivered when it ended
// early.
func (r *ring) transfer(ctx context.Context, src, dst int, idle time.Duration) (int64, leftover, error) {
	var none leftover
	if err := ctx.Err(); err != nil {
		return 0, none, err
	}
	w := waiters.Get().(*waiter)
	r.mu.Lock()
	if dead := r.dead; dead != 0 {
		// The loop has stopped: nothing would ever take the transfer.
		r.mu.Unlock()
		waiters.Put(w)
		return 0, none, transferError(dead, nil)
	}
	r.token++
	token := r.token
	r.waiters[token] = w
	r.mu.Unlock()
	if rc := C.kp_ring_start(r.c, C.uint64_t(token), C.int(src), C.int(dst), C.int64_t(idle)); rc < 0 {
		r.mu.Lock()
		delete(r.waiters, token)
		r.mu.Unlock()
		waiters.Put(w)
		if syscall.Errno(-rc) == syscall.ESHUTDOWN {
			return 0, none, ErrEngineClosed
		}
		return 0, none, wrapErrno("io_uring_submit", syscall.Errno(-rc))
	}
	var ctxErr error
	select {
	case <-w.done:
	case <-ctx.Done():
		ctxErr = ctx.Err()
		C.kp_ring_cancel(r.c, C.uint64_t(token))
		<-w.done // reported once the kernel holds nothing of it
	}
	moved, errno, left := w.moved, w.errno, w.left
	w.moved, w.errno, w.left = 0, 0, none
	waiters.Put(w)
	if errno == syscall.EINVAL && ctxErr == nil && moved == 0 && len(left.data) == 0 && left.err == nil {
		return 0, none, errRingRefused // nothing moved: the caller may run it elsewhere
	}
	return moved, left, transferError(errno, ctxErr)
}

// transferError maps how a transfer ended to DoubleSplice's error.
func transferError(errno syscall.Errno, ctxErr error) error {
	switch {
	case errno == 0:
		return nil
	case ctxErr != nil:
		return ctxErr
	case errno == syscall.ECANCELED:
		return ErrEngineClosed
	case errno == syscall.ETIMEDOUT:
		return &os.SyscallError{Syscall: "splice", Err: ErrIdleTimeout}
	}
	return wrapErrno("splice", errno)
}

// ringStats are a ring's counters (see kp_ring_stats in csrc/kpipe.h).
type ringStats struct {
	polls, splices, eagain, sqes, pipesPooled uint64
}

// stats returns a snapshot of the ring's counters.
func (r *ring) stats() ringStats {
	var st C.kp_ring_stats
	C.kp_ring_get_stats(r.c, &st)
	return ringStats{
		polls:       uint64(st.polls),
		splices:     uint64(st.splices),
		eagain:      uint64(st.eagain),
		sqes:        uint64(st.sqes),
		pipesPooled: uint64(st.pipes_pooled),
	}
}

// pooledPipes reports how many idle pipes the ring's loop keeps for reuse.
func (r *ring) pooledPipes() int {
	return int(r.stats().pipesPooled)
}
