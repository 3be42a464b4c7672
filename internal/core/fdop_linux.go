package core

import (
	"errors"
	"os"
	"runtime"
	"syscall"
	"time"
)

// zStepper is a compression stream that fdOp can drive: one step between
// src and dst, either of which may be -1 for memory (the C core's zstream).
type zStepper interface {
	stepOp(srcFD, dstFD int) ioResult
}

// opKind is the system call an fdOp issues.
type opKind uint8

const (
	opSplice    opKind = iota // one splice(2) between src and dst
	opTee                     // one tee(2) between two pipes
	opSpliceVia               // the C loop src -> pooled pipe -> dst
	opCopyRange               // the C copy_file_range loop
	opSendfile                // the C sendfile loop
	opProbe                   // fstat of the inner descriptor
	opDup                     // duplicate the inner descriptor
	opZlib                    // one zlib stream step (either side may be memory)
)

var opNames = [...]string{"splice", "tee", "splice", "copy_file_range", "sendfile", "fstat", "fcntl", "zlib"}

// fdOp is one operation between two fd endpoints, run so that no thread ever
// waits on one fd while holding the other: the endpoint that has to wait is
// held under its poller lock (outer), the other only for the system call
// (inner). When the call reports EAGAIN the op finds out which side is not
// ready and parks on that side alone.
type fdOp struct {
	kind     opKind
	src, dst endpoint
	n        int64     // request size (opSplice, opTee) or limit (<0: none)
	pipe     *poolPipe // opSpliceVia
	z        zStepper  // opZlib; an endpoint without a descriptor is memory

	outerIsSrc bool // which endpoint is held as outer
	outerFD    int

	// results
	moved  int64
	eof    bool
	errno  syscall.Errno
	waitOn side
	err    error // from the inner endpoint (closed, ...)
	probed fdType
	dupFD  int

	// xfer is the double splice this op runs (opSpliceVia on the poll
	// backend): it hears of every byte moved when it has an idle clock,
	// and its cancellation ends waits on blocking-mode descriptors.
	xfer *pollTransfer
}

// run issues the operation until it completes, fails or, for opSplice and
// opTee, moves some bytes; it waits in between as needed.
func (op *fdOp) run() error {
	for {
		op.errno, op.err, op.waitOn = 0, nil, sideNone
		var err error
		if op.outerIsSrc {
			err = op.src.rawRead(op)
		} else {
			err = op.dst.rawWrite(op)
		}
		if err == nil {
			err = op.err
		}
		if err != nil {
			return op.closedErr(err)
		}
		if op.errno == syscall.EAGAIN {
			// The other endpoint is the one not ready: hold it instead.
			op.outerIsSrc = op.waitOn == sideSrc
			continue
		}
		if op.errno != 0 {
			return wrapErrno(op.callName(), op.errno)
		}
		return nil
	}
}

// callName names the system call that failed with op.errno.
func (op *fdOp) callName() string {
	if op.kind == opZlib {
		// inner left the side that failed in waitOn.
		switch op.waitOn {
		case sideSrc:
			return "read"
		case sideDst:
			return "write"
		}
	}
	return opNames[op.kind]
}

// outer runs with the outer endpoint's fd. It returns false to park in the
// poller until that fd is ready, true when done or when the other side has
// to be waited for.
func (op *fdOp) outer(fd int) bool {
	op.outerFD = fd
	for spins := 0; ; spins++ {
		var err error
		other := &op.src
		if op.outerIsSrc {
			other = &op.dst
		}
		if other.isMemory() {
			// opZlib with memory on the other side: no fd to hold.
			op.inner(-1)
		} else {
			err = other.control(op)
		}
		if err != nil {
			op.err = err
			return true
		}
		if op.errno != syscall.EAGAIN {
			return true
		}
		switch op.waitOn {
		case sideNone:
			// Both ready by poll(2) yet the call would block: a race
			// with another reader or writer. Try again, politely.
			if spins < 64 {
				runtime.Gosched()
			} else {
				time.Sleep(time.Millisecond)
			}
			continue
		case sideSrc:
			if !op.outerIsSrc {
				return true
			}
		case sideDst:
			if op.outerIsSrc {
				return true
			}
		}
		outer := &op.dst
		if op.outerIsSrc {
			outer = &op.src
		}
		op.releaseIdlePipe()
		if outer.pollable(fd) {
			return false
		}
		// A blocking-mode descriptor has no poller: wait on this thread,
		// as a read or write on it would.
		if e, err := op.waitBlocking(fd); e != 0 || err != nil {
			op.errno, op.err = e, err
			return true
		}
	}
}

// releaseIdlePipe gives a double splice's pipe back to the pool before the
// transfer waits for its source with nothing in the pipe: an idle direction
// holds no descriptor, and inner takes a pipe again when bytes arrive.
func (op *fdOp) releaseIdlePipe() {
	if op.xfer != nil && op.outerIsSrc && op.pipe != nil && op.pipe.inPipe == 0 {
		putPipe(op.pipe)
		op.pipe = nil
	}
}

// blockingWaitSlice is how long a wait on a blocking-mode descriptor lasts
// before it looks whether its transfer was cancelled or went idle for too
// long: the runtime poller's deadlines do not reach such a descriptor.
const blockingWaitSlice = 20 * time.Millisecond

// waitBlocking waits on this thread until the blocking-mode fd is ready. In
// a double splice it wakes every blockingWaitSlice and ends with
// os.ErrDeadlineExceeded, as a poller deadline would, once the transfer
// is cancelled or has been idle for its IdleTimeout. Other operations wait
// as a read or write on the descriptor would.
func (op *fdOp) waitBlocking(fd int) (syscall.Errno, error) {
	t := op.xfer
	if t == nil {
		return sysWait(fd, !op.outerIsSrc, -1), nil
	}
	for {
		e := sysWait(fd, !op.outerIsSrc, blockingWaitSlice)
		if e != syscall.ETIMEDOUT {
			return e, nil
		}
		if t.cancelled.Load() || t.idleExpired() {
			return 0, os.ErrDeadlineExceeded
		}
	}
}

// pollTimeout is d in poll(2)'s milliseconds: -1 for d < 0 (no limit), at
// least 1 for d > 0.
func pollTimeout(d time.Duration) int {
	switch {
	case d < 0:
		return -1
	case d > 0 && d < time.Millisecond:
		return 1
	}
	return int(d.Milliseconds())
}

// inner runs with the inner endpoint's fd and issues the system call.
func (op *fdOp) inner(fd int) {
	switch op.kind {
	case opProbe:
		op.probed, op.errno = sysFdType(fd)
		return
	case opDup:
		op.dupFD, op.errno = dupCloexec(fd)
		return
	}
	src, dst := fd, op.outerFD
	if op.outerIsSrc {
		src, dst = op.outerFD, fd
	}
	var r ioResult
	switch op.kind {
	case opSplice:
		r.moved, r.errno = sysSplice(src, dst, op.n)
		r.eof = r.errno == 0 && r.moved == 0
	case opTee:
		r.moved, r.errno = sysTee(src, dst, op.n)
		r.eof = r.errno == 0 && r.moved == 0
	case opSpliceVia:
		r = op.spliceVia(src, dst)
		if op.err != nil {
			return
		}
	case opCopyRange:
		r = sysCopyRange(src, dst, op.remaining())
	case opSendfile:
		r = sysSendfile(dst, src, op.remaining())
	case opZlib:
		r = op.z.stepOp(src, dst)
	}
	op.moved += r.moved
	op.eof = r.eof
	if r.moved > 0 && op.xfer != nil && op.xfer.idle > 0 {
		op.xfer.touch()
	}
	op.errno = r.errno
	if r.errno != syscall.EAGAIN {
		if op.kind == opZlib {
			op.waitOn = r.side // the side whose read or write failed
		}
		return
	}
	op.waitOn = r.side
	if op.kind == opSplice || op.kind == opTee {
		// Either fd may be the one not ready: ask.
		ready, e := sysReady(src, dst)
		switch {
		case e != 0:
			op.errno = e
		case ready&sideSrc == 0:
			op.waitOn = sideSrc
		case ready&sideDst == 0:
			op.waitOn = sideDst
		default:
			op.waitOn = sideNone
		}
	}
}

// spliceVia runs the C loop src -> pooled pipe -> dst, taking a pipe from
// the pool when the op holds none. A transfer that outgrows its pipe gets a
// bigger one: while the pipe can still grow, each call of the loop takes at
// most one pipe's worth, so that the growth happens as soon as it is due.
func (op *fdOp) spliceVia(src, dst int) ioResult {
	var sum ioResult
	for {
		if op.pipe == nil {
			p, err := getPipe()
			if err != nil {
				op.err = err
				return sum
			}
			op.pipe = p
			if t := op.xfer; t != nil && t.pipeSize > p.capacity {
				if granted, err := sysPipeSetSize(p.w, t.pipeSize); err == nil {
					p.capacity = granted
				}
			}
		}
		p := op.pipe
		if op.moved+sum.moved >= int64(p.capacity) {
			p.grow()
		}
		limit := op.n
		if limit >= 0 {
			limit -= op.moved + sum.moved + p.inPipe
		}
		step := limit
		if p.mayGrow() && (step < 0 || step > int64(p.capacity)) {
			step = int64(p.capacity)
		}
		r := sysSpliceVia(src, dst, p, step)
		sum.moved += r.moved
		sum.errno, sum.eof, sum.side = r.errno, r.eof, r.side
		if step == limit || r.errno != 0 || r.eof {
			return sum
		}
	}
}

func (op *fdOp) remaining() int64 {
	if op.n < 0 {
		return -1
	}
	return op.n - op.moved
}

// errFileClosingText is the text of the error an *os.File's RawConn returns
// once the file is closed: internal/poll's ErrFileClosing, which wraps
// nothing (the file's own Read and Write turn it into os.ErrClosed).
const errFileClosingText = "use of closed file"

// closedErr turns the poller's "use of closed file" into an error wrapping
// os.ErrClosed, as os.File's methods do, when one of op's pipe ends or files
// was closed under it.
func (op *fdOp) closedErr(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, os.ErrClosed) {
		return err
	}
	if (op.src.pipe != nil && op.src.pipe.rClosed.Load()) ||
		(op.dst.pipe != nil && op.dst.pipe.wClosed.Load()) {
		return &os.PathError{Op: opNames[op.kind], Path: "kpipe", Err: os.ErrClosed}
	}
	if err.Error() == errFileClosingText {
		return &os.SyscallError{Syscall: opNames[op.kind], Err: os.ErrClosed}
	}
	return err
}
