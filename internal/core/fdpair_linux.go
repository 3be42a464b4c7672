package core

import (
	"io"
	"syscall"

	"golang.org/x/sys/unix"
)

// fdPair holds private duplicates of a transfer's descriptors. The engine
// works on duplicates so that it never switches the caller's descriptors'
// modes, never touches their deadlines, and never uses a descriptor number
// that the caller's Close may hand to a new file meanwhile.
type fdPair struct {
	src, dst int
}

// dup duplicates the descriptors of dst and src (close-on-exec).
func (p *fdPair) dup(dst io.Writer, src io.Reader) error {
	p.src, p.dst = -1, -1
	var op fdOp
	if !op.src.set(src, false) || !op.dst.set(dst, true) {
		return ErrNoFD
	}
	op.kind = opDup
	if err := op.src.control(&op); err != nil {
		return err
	}
	if op.errno != 0 {
		return wrapErrno("fcntl", op.errno)
	}
	p.src = op.dupFD
	if err := op.dst.control(&op); err != nil {
		p.close()
		return err
	}
	if op.errno != 0 {
		p.close()
		return wrapErrno("fcntl", op.errno)
	}
	p.dst = op.dupFD
	return nil
}

func (p *fdPair) close() {
	for _, fd := range [2]*int{&p.src, &p.dst} {
		if *fd >= 0 {
			unix.Close(*fd)
			*fd = -1
		}
	}
}

// dupCloexec duplicates fd above the standard descriptors.
func dupCloexec(fd int) (int, syscall.Errno) {
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return -1, err.(syscall.Errno)
	}
	return nfd, 0
}

// shutdownWrite half-closes a socket that has no CloseWrite method; a pipe
// or a file has no half-close and is left alone.
func shutdownWrite(c syscall.Conn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err = rc.Control(func(fd uintptr) { serr = unix.Shutdown(int(fd), unix.SHUT_WR) }); err != nil {
		return err
	}
	if serr == unix.ENOTSOCK {
		return nil
	}
	return serr
}
