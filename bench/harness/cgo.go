package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/kpipe/kpipe"
	"golang.org/x/sys/unix"
)

func init() { Register(50, CgoSections) }

// cgoOps and cgoQuickOps are the operations (system calls) of one run of a
// cgo overhead case, in a full and in a quick run.
const (
	cgoOps      = 200_000
	cgoQuickOps = 50_000
)

// cgoMsgSize is the bytes each operation moves: small, so that the system
// call costs little and the cost of the call around it shows.
const cgoMsgSize = 64

// cgoAbout is the section's paragraph in the report.
const cgoAbout = "What a kpipe call costs over the raw system call it makes: a " +
	"64-byte splice(2) between two pipes, once through `golang.org/x/sys/unix` " +
	"(a plain Go system call) and once through kpipe (the same system call from " +
	"Go since single calls left the C core, plus kpipe's endpoint resolution and " +
	"argument checks). Two pipes hold 64 bytes between them; each step " +
	"splices them from the first pipe to the second and back (two operations), so " +
	"nothing is ever read or written. The tee row does tee(2) of the 64 bytes from " +
	"the first pipe into the second and then splices them from the second into " +
	"`/dev/null` (two operations, both through the API named). Nothing ever " +
	"waits; the time is wall-clock nanoseconds per operation and the ratio says " +
	"how many times less time each took than the raw system call."

// CgoSections returns the cgo overhead section for cfg.
func CgoSections(cfg Config) []Section {
	ops := int64(cgoOps)
	if cfg.Quick {
		ops = cgoQuickOps
	}
	return []Section{cgoSection(ops)}
}

// cgoSection returns the cgo overhead section, ops operations per run.
func cgoSection(ops int64) Section {
	const rawSplice, rawTee = "unix.Splice (raw syscall)", "unix.Tee (raw syscall)"
	return Section{
		Name:    "cgo overhead",
		About:   cgoAbout,
		Metrics: []Metric{NsPerOp},
		Groups: []Group{
			{
				Setting:  "64 B splice, pipe to pipe",
				Baseline: rawSplice,
				Cases: []Case{
					{Peer: rawSplice, Run: cgoRun(ops, rawSpliceStep)},
					{Peer: "kpipe.Splice", Run: cgoRun(ops, kpipeSpliceStep)},
				},
			},
			{
				Setting:  "64 B tee, then splice to /dev/null",
				Baseline: rawTee,
				Cases: []Case{
					{Peer: rawTee, Run: cgoRun(ops, rawTeeStep)},
					{Peer: "kpipe.Tee", Run: cgoRun(ops, kpipeTeeStep)},
				},
			},
		},
	}
}

// A cgoStepper prepares one run: it opens what the run needs and returns
// step, which does two operations, and release, which closes it all. On an
// error it has closed what it opened.
type cgoStepper func() (step func() error, release func() error, err error)

// cgoRun returns a Case's Run that prepares with prepare and then times
// ops/2 steps (ops operations) together with the process's CPU time.
func cgoRun(ops int64, prepare cgoStepper) func(context.Context) (Sample, error) {
	return func(ctx context.Context) (s Sample, err error) {
		step, release, err := prepare()
		if err != nil {
			return Sample{}, err
		}
		defer func() { err = errors.Join(err, release()) }()
		done := ctx.Done()
		steps := ops / 2
		cpu0 := selfCPU()
		start := time.Now()
		for i := int64(0); i < steps; i++ {
			if i%1024 == 0 {
				select {
				case <-done:
					return Sample{}, ctx.Err()
				default:
				}
			}
			if err := step(); err != nil {
				return Sample{}, fmt.Errorf("operation %d: %w", 2*i, err)
			}
		}
		elapsed := time.Since(start)
		return Sample{Ops: 2 * steps, Elapsed: elapsed, CPU: selfCPU() - cpu0}, nil
	}
}

// moved checks that an operation moved the whole message.
func moved(op string, n int64, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if n != cgoMsgSize {
		return fmt.Errorf("%s moved %d bytes, want %d", op, n, cgoMsgSize)
	}
	return nil
}

// rawPipes opens two pipes with unix.Pipe2 and writes the message into
// the first. closeAll closes all four descriptors.
func rawPipes() (a, b [2]int, closeAll func() error, err error) {
	var fds [4]int
	if err := unix.Pipe2(fds[:2], unix.O_CLOEXEC); err != nil {
		return a, b, nil, fmt.Errorf("pipe2: %w", err)
	}
	if err := unix.Pipe2(fds[2:], unix.O_CLOEXEC); err != nil {
		return a, b, nil, errors.Join(fmt.Errorf("pipe2: %w", err), closeFDs(fds[:2]...))
	}
	closeAll = func() error { return closeFDs(fds[:]...) }
	if n, err := unix.Write(fds[1], make([]byte, cgoMsgSize)); err != nil || n != cgoMsgSize {
		return a, b, nil, errors.Join(fmt.Errorf("write %d of %d bytes: %v", n, cgoMsgSize, err), closeAll())
	}
	return [2]int{fds[0], fds[1]}, [2]int{fds[2], fds[3]}, closeAll, nil
}

// closeFDs closes fds and returns the errors.
func closeFDs(fds ...int) error {
	var errs []error
	for _, fd := range fds {
		if err := unix.Close(fd); err != nil {
			errs = append(errs, fmt.Errorf("close fd %d: %w", fd, err))
		}
	}
	return errors.Join(errs...)
}

// rawSpliceStep splices the message from pipe a to pipe b and back with
// unix.Splice.
func rawSpliceStep() (func() error, func() error, error) {
	a, b, closeAll, err := rawPipes()
	if err != nil {
		return nil, nil, err
	}
	step := func() error {
		n, err := unix.Splice(a[0], nil, b[1], nil, cgoMsgSize, 0)
		if err := moved("splice", n, err); err != nil {
			return err
		}
		n, err = unix.Splice(b[0], nil, a[1], nil, cgoMsgSize, 0)
		return moved("splice", n, err)
	}
	return step, closeAll, nil
}

// kpipePipes opens two kpipe.Pipes and writes the message into the first.
func kpipePipes() (a, b *kpipe.Pipe, closeAll func() error, err error) {
	a, err = kpipe.NewPipe()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("pipe: %w", err)
	}
	b, err = kpipe.NewPipe()
	if err != nil {
		return nil, nil, nil, errors.Join(fmt.Errorf("pipe: %w", err), a.Close())
	}
	closeAll = func() error { return errors.Join(a.Close(), b.Close()) }
	if _, err := a.Write(make([]byte, cgoMsgSize)); err != nil {
		return nil, nil, nil, errors.Join(fmt.Errorf("write: %w", err), closeAll())
	}
	return a, b, closeAll, nil
}

// kpipeSpliceStep splices the message from pipe a to pipe b and back with
// kpipe.Splice.
func kpipeSpliceStep() (func() error, func() error, error) {
	a, b, closeAll, err := kpipePipes()
	if err != nil {
		return nil, nil, err
	}
	step := func() error {
		n, err := kpipe.Splice(b, a, cgoMsgSize)
		if err := moved("kpipe.Splice", n, err); err != nil {
			return err
		}
		n, err = kpipe.Splice(a, b, cgoMsgSize)
		return moved("kpipe.Splice", n, err)
	}
	return step, closeAll, nil
}

// rawTeeStep tees the message from pipe a into pipe b, then splices it
// from b into /dev/null, with unix.Tee and unix.Splice.
func rawTeeStep() (func() error, func() error, error) {
	a, b, closePipes, err := rawPipes()
	if err != nil {
		return nil, nil, err
	}
	null, err := unix.Open(os.DevNull, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, errors.Join(fmt.Errorf("open %s: %w", os.DevNull, err), closePipes())
	}
	step := func() error {
		n, err := unix.Tee(a[0], b[1], cgoMsgSize, 0)
		if err := moved("tee", n, err); err != nil {
			return err
		}
		n, err = unix.Splice(b[0], nil, null, nil, cgoMsgSize, 0)
		return moved("splice", n, err)
	}
	closeAll := func() error { return errors.Join(closePipes(), closeFDs(null)) }
	return step, closeAll, nil
}

// kpipeTeeStep tees the message from pipe a into pipe b, then splices it
// from b into /dev/null, with kpipe.Tee and kpipe.Splice.
func kpipeTeeStep() (func() error, func() error, error) {
	a, b, closePipes, err := kpipePipes()
	if err != nil {
		return nil, nil, err
	}
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return nil, nil, errors.Join(fmt.Errorf("open %s: %w", os.DevNull, err), closePipes())
	}
	step := func() error {
		n, err := kpipe.Tee(b, a, cgoMsgSize)
		if err := moved("kpipe.Tee", n, err); err != nil {
			return err
		}
		n, err = kpipe.Splice(null, b, cgoMsgSize)
		return moved("kpipe.Splice", n, err)
	}
	closeAll := func() error { return errors.Join(closePipes(), null.Close()) }
	return step, closeAll, nil
}
