package core

import (
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The single system calls behind every operation, made from Go on
// golang.org/x/sys/unix in both Linux builds: through cgo each would cost a
// call into C for one system call. Only the loops that make many calls run
// in C (bindings_cgo.go), or in Go without cgo (bindings_nocgo.go).

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
