//go:build linux && !cgo

package core

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// implementation is what Implementation reports.
const implementation = ImplLinuxGo

// Without cgo the loops the C core runs (bindings_cgo.go) run in Go, on
// golang.org/x/sys/unix: the same calls, the same loops, the same results.
// The single calls are sys_linux.go's, in both builds.

// sysSpliceVia moves src -> pooled pipe -> dst until end of input, limit
// bytes taken from src (< 0: no limit), or a call that would block or
// fails; p.inPipe tracks what the pipe holds.
func sysSpliceVia(src, dst int, p *poolPipe, limit int64) ioResult {
	var r ioResult
	if p.capacity <= 0 {
		// A zero-byte request would read as end of input.
		r.errno = syscall.EINVAL
		return r
	}
	var taken int64 // bytes taken from src by this call
	for {
		// Drain what the pipe holds before taking more.
		for p.inPipe > 0 {
			n, errno := sysSplice(p.r, dst, p.inPipe)
			if errno != 0 {
				return stopped(r, errno, sideDst)
			}
			if n == 0 {
				// A pipe we own cannot run dry while it holds data.
				r.errno = syscall.EIO
				return r
			}
			p.inPipe -= n
			r.moved += n
		}
		if limit >= 0 && taken >= limit {
			return r
		}
		want := int64(p.capacity)
		if limit >= 0 && limit-taken < want {
			want = limit - taken
		}
		n, errno := sysSplice(src, p.w, want)
		if errno != 0 {
			return stopped(r, errno, sideSrc)
		}
		if n == 0 {
			r.eof = true
			return r
		}
		p.inPipe += n
		taken += n
	}
}

// stopped records the errno that stopped a loop, and on EAGAIN the side
// that would have blocked.
func stopped(r ioResult, errno syscall.Errno, s side) ioResult {
	r.errno = errno
	if errno == syscall.EAGAIN {
		r.side = s
	}
	return r
}

// nextLen is the length of a copy loop's next request.
func nextLen(limit, done int64) int {
	if limit < 0 {
		return maxRequest
	}
	return requestLen(limit - done)
}

func sysCopyRange(in, out int, limit int64) ioResult {
	var r ioResult
	for limit < 0 || r.moved < limit {
		n, err := unix.CopyFileRange(in, nil, out, nil, nextLen(limit, r.moved), 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			r.errno = errnoOf(err)
			return r
		}
		if n == 0 {
			r.eof = true
			return r
		}
		r.moved += int64(n)
	}
	return r
}

func sysSendfile(out, in int, limit int64) ioResult {
	var r ioResult
	for limit < 0 || r.moved < limit {
		n, err := unix.Sendfile(out, in, nil, nextLen(limit, r.moved))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return stopped(r, errnoOf(err), sideDst)
		}
		if n == 0 {
			r.eof = true
			return r
		}
		r.moved += int64(n)
	}
	return r
}
