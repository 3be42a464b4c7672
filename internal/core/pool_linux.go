package core

import (
	"io"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	// pipePoolMax bounds the idle pipes kept for reuse; more are closed.
	pipePoolMax = 16
	// pipeGrowSize is the capacity a pooled pipe grows to once a transfer
	// fills it; small transfers keep the kernel's default.
	pipeGrowSize = 1 << 20
	// pipeGrowRetry is how long kpipe waits before asking to grow a pipe
	// again after the kernel refused (pipe-user-pages limits).
	pipeGrowRetry = 10 * time.Second
)

// poolPipe is a private non-blocking pipe used in the middle of a transfer.
// Only its user touches it, so its fill level is always known.
type poolPipe struct {
	r, w     int
	capacity int
	inPipe   int64 // bytes in the pipe
}

// pipePool keeps empty pipes for reuse, so that steady-state transfers open
// no descriptors and allocate nothing.
var pipePool struct {
	mu   sync.Mutex
	free []*poolPipe
	// growRefusedAt is the UnixNano time of the last refused growth.
	growRefusedAt atomic.Int64
}

// getPipe returns an empty pooled pipe, opening one if none is idle.
func getPipe() (*poolPipe, error) {
	pipePool.mu.Lock()
	if n := len(pipePool.free); n > 0 {
		p := pipePool.free[n-1]
		pipePool.free[n-1] = nil
		pipePool.free = pipePool.free[:n-1]
		pipePool.mu.Unlock()
		return p, nil
	}
	pipePool.mu.Unlock()
	r, w, capacity, errno := sysPipeOpen(true, 0)
	if errno != 0 {
		return nil, wrapErrno("pipe2", errno)
	}
	return &poolPipe{r: r, w: w, capacity: capacity}, nil
}

// putPipe returns p to the pool, or closes it when it still holds data (its
// bytes belong to a failed transfer) or the pool is full.
func putPipe(p *poolPipe) {
	if p.inPipe == 0 {
		pipePool.mu.Lock()
		if len(pipePool.free) < pipePoolMax {
			if pipePool.free == nil {
				pipePool.free = make([]*poolPipe, 0, pipePoolMax)
			}
			pipePool.free = append(pipePool.free, p)
			pipePool.mu.Unlock()
			return
		}
		pipePool.mu.Unlock()
	}
	p.close()
}

// drainTo moves the bytes the pipe holds to w with read and write, for
// destinations that splice refuses.
func (p *poolPipe) drainTo(w io.Writer) (int64, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	var total int64
	for p.inPipe > 0 {
		b := (*bp)[:min(int64(len(*bp)), p.inPipe)]
		nr, err := p.read(b)
		if err != nil {
			return total, err
		}
		nw, werr := w.Write(b[:nr])
		total += int64(nw)
		if werr != nil {
			return total, werr
		}
		if nw != nr {
			return total, io.ErrShortWrite
		}
	}
	return total, nil
}

// read reads up to len(b) of the bytes the pipe holds (at least one; the
// caller asks only while it holds some) and counts them out.
func (p *poolPipe) read(b []byte) (int, error) {
	for {
		n, err := syscall.Read(p.r, b)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return 0, wrapErrno("read", err.(syscall.Errno))
		case n <= 0:
			// A pipe we own cannot run dry while it holds data.
			return 0, wrapErrno("read", syscall.EIO)
		}
		p.inPipe -= int64(n)
		return n, nil
	}
}

// takeAll reads every byte the pipe holds into a new slice: what a
// transfer that ended early hands back (UndeliveredError).
func (p *poolPipe) takeAll() leftover {
	b := make([]byte, p.inPipe)
	for off := 0; off < len(b); {
		n, err := p.read(b[off:])
		if err != nil {
			return leftover{b[:off], err}
		}
		off += n
	}
	return leftover{data: b}
}

func (p *poolPipe) close() {
	sysPipeClose(p.r, p.w)
	p.r, p.w, p.inPipe = -1, -1, 0
}

// mayGrow reports whether grow could raise the pipe's capacity now.
func (p *poolPipe) mayGrow() bool {
	if p.capacity >= pipeGrowSize {
		return false
	}
	t := pipePool.growRefusedAt.Load()
	return t == 0 || time.Since(time.Unix(0, t)) >= pipeGrowRetry
}

// grow raises the pipe's capacity to pipeGrowSize, unless the kernel refused
// recently; a refusal leaves the pipe as it was and working.
func (p *poolPipe) grow() {
	if !p.mayGrow() {
		return
	}
	granted, err := sysPipeSetSize(p.w, pipeGrowSize)
	if err != nil {
		pipePool.growRefusedAt.Store(time.Now().UnixNano())
		return
	}
	p.capacity = granted
}

// drainPipePool closes every idle pooled pipe and returns how many it closed.
func drainPipePool() int {
	pipePool.mu.Lock()
	free := pipePool.free
	pipePool.free = nil
	pipePool.mu.Unlock()
	for _, p := range free {
		p.close()
	}
	return len(free)
}
