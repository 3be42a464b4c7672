//go:build linux && !cgo

package kpipe

import (
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// implementation is what Implementation reports.
const implementation = ImplLinuxGo

// Without cgo the system calls the C core makes are made from Go, on
// golang.org/x/sys/unix: the same calls, the same loops, the same results.

// requestLen bounds one request to maxRequest bytes.
func requestLen(n int64) int {
	return int(min(n, maxRequest))
}

// errnoOf turns a system call's error into an errno (EIO for anything that
// is not one, which x/sys/unix never returns).
func errnoOf(err error) syscall.Errno {
	if errno, ok := err.(syscall.Errno); ok {
		return errno
	}
	return syscall.EIO
}

func sysSplice(in, out int, n int64) (int64, syscall.Errno) {
	if n <= 0 {
		return 0, 0
	}
	for {
		m, err := unix.Splice(in, nil, out, nil, requestLen(n), spliceFlags)
		if err == nil {
			return m, 0
		}
		if err != unix.EINTR {
			return 0, errnoOf(err)
		}
	}
}

func sysTee(in, out int, n int64) (int64, syscall.Errno) {
	if n <= 0 {
		return 0, 0
	}
	for {
		m, err := unix.Tee(in, out, requestLen(n), unix.SPLICE_F_NONBLOCK)
		if err == nil {
			return m, 0
		}
		if err != unix.EINTR {
			return 0, errnoOf(err)
		}
	}
}

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

// sysReady reports which of src (readable) and dst (writable) are ready now.
func sysReady(src, dst int) (side, syscall.Errno) {
	fds := []unix.PollFd{{Fd: int32(src), Events: unix.POLLIN}, {Fd: int32(dst), Events: unix.POLLOUT}}
	for {
		_, err := unix.Poll(fds, 0)
		if err == nil {
			break
		}
		if err != unix.EINTR {
			return 0, errnoOf(err)
		}
	}
	var ready side
	const gone = unix.POLLHUP | unix.POLLERR | unix.POLLNVAL
	if fds[0].Revents&(unix.POLLIN|gone) != 0 {
		ready |= sideSrc
	}
	if fds[1].Revents&(unix.POLLOUT|gone) != 0 {
		ready |= sideDst
	}
	return ready, 0
}

// sysWait blocks the calling thread until a blocking-mode fd is ready, or
// for at most timeout (then ETIMEDOUT; < 0: no limit).
func sysWait(fd int, forWrite bool, timeout time.Duration) syscall.Errno {
	if fd < 0 {
		// poll(2) skips a negative fd: it would wait forever.
		return syscall.EBADF
	}
	var events int16 = unix.POLLIN
	if forWrite {
		events = unix.POLLOUT
	}
	fds := []unix.PollFd{{Fd: int32(fd), Events: events}}
	for {
		n, err := unix.Poll(fds, pollTimeout(timeout))
		if err == nil && n > 0 {
			if fds[0].Revents&unix.POLLNVAL != 0 {
				return syscall.EBADF
			}
			return 0
		}
		if err == nil && n == 0 {
			return syscall.ETIMEDOUT
		}
		if err != nil && err != unix.EINTR {
			return errnoOf(err)
		}
	}
}

func sysFdType(fd int) (fdType, syscall.Errno) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fdOther, errnoOf(err)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		return fdFile, 0
	case unix.S_IFIFO:
		return fdPipe, 0
	case unix.S_IFSOCK:
		return fdSocket, 0
	case unix.S_IFCHR:
		return fdChar, 0
	case unix.S_IFBLK:
		return fdBlock, 0
	}
	return fdOther, 0
}

func sysNonblocking(fd int) bool {
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	return err == nil && fl&unix.O_NONBLOCK != 0
}

// sysPipeOpen opens a pipe and asks for size bytes of capacity (0: the
// default). Growth the kernel refuses leaves the pipe as it is.
func sysPipeOpen(nonblock bool, size int) (r, w int, capacity int, errno syscall.Errno) {
	flags := unix.O_CLOEXEC
	if nonblock {
		flags |= unix.O_NONBLOCK
	}
	var fds [2]int
	if err := unix.Pipe2(fds[:], flags); err != nil {
		return -1, -1, 0, errnoOf(err)
	}
	if size > 0 {
		if c, err := sysPipeSetSize(fds[1], size); err == nil {
			return fds[0], fds[1], c, 0
		}
		// Growth refused (EPERM past pipe-user-pages-soft, ...): keep
		// the pipe as the kernel made it.
	}
	capacity, err := unix.FcntlInt(uintptr(fds[1]), unix.F_GETPIPE_SZ, 0)
	if err != nil {
		sysPipeClose(fds[0], fds[1])
		return -1, -1, 0, errnoOf(err)
	}
	return fds[0], fds[1], capacity, 0
}

// sysPipeClose closes both ends; close(2) frees the fd even when it
// reports EINTR, so it is never retried.
func sysPipeClose(r, w int) {
	for _, fd := range [2]int{r, w} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

// intOrErr turns a system call's value and error into a Go int and an
// *os.SyscallError.
func intOrErr(syscallName string, v int, err error) (int, error) {
	if err != nil {
		return 0, os.NewSyscallError(syscallName, errnoOf(err))
	}
	return v, nil
}

func sysPipeSetSize(fd, size int) (int, error) {
	v, err := unix.FcntlInt(uintptr(fd), unix.F_SETPIPE_SZ, size)
	return intOrErr("fcntl", v, err)
}

func sysPipeSize(fd int) (int, error) {
	v, err := unix.FcntlInt(uintptr(fd), unix.F_GETPIPE_SZ, 0)
	return intOrErr("fcntl", v, err)
}

func sysPipeBuffered(fd int) (int, error) {
	v, err := unix.IoctlGetInt(fd, unix.TIOCINQ) // FIONREAD
	return intOrErr("ioctl", v, err)
}
