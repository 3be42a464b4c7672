//go:build linux

package main

import (
	"io"
	"os"
	"sync"
	"time"

	"github.com/kpipe/kpipe"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/sys/unix"
)

// The progress bar of cp and cat must not put the data through Go: the
// copy runs in the kernel, by kpipe.Copy, and the bar learns how far it is
// from outside, a few times a second:
//
//   - a regular file as destination: by the growth of its size (fstat), which
//     follows copy_file_range and splice as they write;
//   - otherwise a seekable source: by the advance of its offset
//     (lseek(fd, 0, SEEK_CUR)), which sendfile and splice move as they read;
//   - otherwise (a pipe or socket on both sides, as with pv): the copy runs as
//     kpipe.Copy calls of progressStep bytes each (an io.LimitedReader,
//     which kpipe.Copy honours without leaving the kernel), counted as they
//     end.

// progressStep is the size of one kpipe.Copy call when neither side of a
// copy shows its progress.
const progressStep = 1 << 20

// progressInterval is how often the bar is brought up to date.
const progressInterval = 100 * time.Millisecond

// progress shows the progress of a transfer on standard error: bytes, rate
// and, when the total is known, the time left.
type progress struct {
	bar  *progressbar.ProgressBar
	stop chan struct{}
	wg   sync.WaitGroup

	mu     sync.Mutex
	done   int64        // bytes of the parts that have ended
	sample func() int64 // bytes of the part under way; nil: none
}

// startProgress shows a bar described by desc for a transfer of total bytes
// (< 0: unknown, a spinner with the count and rate).
func startProgress(desc string, total int64) *progress {
	if total <= 0 {
		total = -1 // the bar cannot show a fraction of zero
	}
	p := &progress{
		bar: progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(os.Stderr),
			progressbar.OptionSetDescription(desc),
			progressbar.OptionShowBytes(true),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(progressInterval),
			progressbar.OptionSpinnerType(14),
			progressbar.OptionSetRenderBlankState(true),
			progressbar.OptionOnCompletion(func() { os.Stderr.WriteString("\n") }),
		),
		stop: make(chan struct{}),
	}
	p.wg.Add(1)
	go p.update()
	return p
}

// update brings the bar up to date every progressInterval until finish.
func (p *progress) update() {
	defer p.wg.Done()
	t := time.NewTicker(progressInterval)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.bar.Set64(p.count())
		}
	}
}

// count returns the bytes moved so far.
func (p *progress) count() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.done
	if p.sample != nil {
		n += p.sample()
	}
	return n
}

// track starts a part of the transfer, measured by sample while it runs.
func (p *progress) track(sample func() int64) {
	p.mu.Lock()
	p.sample = sample
	p.mu.Unlock()
}

// add ends the part under way, if any, which moved n bytes.
func (p *progress) add(n int64) {
	p.mu.Lock()
	p.done += n
	p.sample = nil
	p.mu.Unlock()
}

// finish stops the updates and shows the final count, complete when err is
// nil, and ends the bar's line.
func (p *progress) finish(err error) {
	close(p.stop)
	p.wg.Wait()
	p.bar.Set64(p.count())
	if err != nil {
		p.bar.Exit()
		return
	}
	p.bar.Finish()
}

// meteredCopy copies src to dst with kpipe.Copy and, when p is not nil,
// shows its progress in p without touching the data (see the top of this
// file).
func meteredCopy(dst, src *os.File, p *progress) (int64, error) {
	if p == nil {
		return kpipe.Copy(dst, src)
	}
	if sample := growthOf(dst, src); sample != nil {
		p.track(sample)
		n, err := kpipe.Copy(dst, src)
		p.add(n)
		return n, err
	}
	var total int64
	for {
		n, err := kpipe.Copy(dst, &io.LimitedReader{R: src, N: progressStep})
		total += n
		p.add(n)
		if err != nil || n < progressStep {
			return total, err
		}
	}
}

// growthOf returns a function reporting how many bytes a copy from src to
// dst has moved since the call, read from dst's size or src's offset, or nil
// when neither shows it.
func growthOf(dst, src *os.File) func() int64 {
	if size, ok := fdValue(dst, fileSize); ok {
		return func() int64 {
			n, _ := fdValue(dst, fileSize)
			return max(n-size, 0)
		}
	}
	if off, ok := fdValue(src, fileOffset); ok {
		return func() int64 {
			n, _ := fdValue(src, fileOffset)
			return max(n-off, 0)
		}
	}
	return nil
}

// fileSize returns the size of the regular file fd, failing for any other
// kind of descriptor.
func fileSize(fd int) (int64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return 0, unix.EINVAL
	}
	return st.Size, nil
}

// fileOffset returns the file offset of fd, failing for a descriptor that
// has none (a pipe, a socket, a terminal).
func fileOffset(fd int) (int64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, err
	}
	if m := st.Mode & unix.S_IFMT; m != unix.S_IFREG && m != unix.S_IFBLK {
		return 0, unix.ESPIPE
	}
	return unix.Seek(fd, 0, io.SeekCurrent)
}

// fdValue applies get to f's descriptor through SyscallConn, so that f is
// not switched to blocking mode as f.Fd() would do.
func fdValue(f *os.File, get func(fd int) (int64, error)) (int64, bool) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, false
	}
	var v int64
	var getErr error
	if err := rc.Control(func(fd uintptr) { v, getErr = get(int(fd)) }); err != nil || getErr != nil {
		return 0, false
	}
	return v, true
}

// isTerminal reports whether the descriptor fd is a terminal. It takes a
// descriptor number rather than an *os.File because f.Fd() would switch f
// to blocking mode.
func isTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}
