//go:build linux && cgo

package core

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/kpipe/kpipe/internal/nouring"
	"golang.org/x/sys/unix"
)

// TestRingStoppedRefuses makes a running ring's io_uring_enter fail, in a
// child process that installs a seccomp filter returning EIO for it while
// a transfer waits on the ring: the transfer ends with an error wrapping
// EIO, and new transfers on the stopped ring fail at once with it instead
// of waiting forever for a loop that will never take them.
func TestRingStoppedRefuses(t *testing.T) {
	if !inFaultChild(t) {
		requireIOUring(t)
		if !kernelAllowsIOUring() {
			t.Skipf("io_uring is refused here, as %s=1 says", noIOUringEnv)
		}
		runFaultChild(t, faultChild{})
		return
	}
	e, err := NewEngine(Config{Backend: BackendIOUring, Rings: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.Backend() != BackendIOUring {
		t.Fatalf("backend %s, want io_uring", e.Backend())
	}
	waiting, feed := newTestPipe(t), newTestPipe(t)
	first := spliceAsync(context.Background(), e, feed, waiting)
	// Wait until the ring has submitted something: its loop is running
	// and waiting in io_uring_enter.
	for deadline := time.Now().Add(10 * time.Second); e.rings[0].stats().sqes == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the ring never submitted the transfer's poll")
		}
	}
	if err := nouring.Refuse(syscall.EIO, nouring.Enter); err != nil {
		t.Fatal(err)
	}
	// Input wakes the loop, whose next io_uring_enter fails.
	if _, err := waiting.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if r := waitResult(t, first, 10*time.Second); !errors.Is(r.err, syscall.EIO) {
		t.Fatalf("the transfer waiting on the ring: %d, %v; want EIO", r.n, r.err)
	}
	src, dst := newTestPipe(t), newTestPipe(t)
	done := make(chan error, 1)
	go func() {
		_, err := e.DoubleSplice(context.Background(), dst, src)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, syscall.EIO) {
			t.Errorf("DoubleSplice on a stopped ring: %v, want EIO", err)
		}
	case <-time.After(5 * time.Second):
		src.Close() // let the transfer end so that Close can return
		t.Fatal("DoubleSplice on a stopped ring did not return")
	}
}

// openBlockingPTY opens a pseudo-terminal pair whose ends stay in blocking
// mode, as an inherited terminal stdin is.
func openBlockingPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	master = os.NewFile(uintptr(m), "ptmx")
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(m, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(m, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := unix.Open(fmt.Sprintf("/dev/pts/%d", n), unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	slave = os.NewFile(uintptr(s), "pts")
	t.Cleanup(func() { slave.Close() })
	return master, slave
}

// TestRingBlockingTerminal runs DoubleSplice on io_uring from a terminal in
// blocking mode: the ring's thread, which runs every splice itself, must
// never wait on it, so the ring refuses it before anything moves and the
// transfer runs on the poll backend instead. It delivers the line typed,
// the ring meanwhile runs other transfers, and the terminal's hang-up ends
// it.
func TestRingBlockingTerminal(t *testing.T) {
	requireIOUring(t)
	e, err := NewEngine(Config{Backend: BackendIOUring, Rings: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.Backend() != BackendIOUring {
		t.Skip("io_uring is not available here")
	}
	master, slave := openBlockingPTY(t)
	dst := newTestPipe(t)
	done := spliceAsync(context.Background(), e, dst, slave)
	if _, err := master.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	dst.SetReadDeadline(time.Now().Add(hangLimit))
	got := make([]byte, 6)
	if _, err := io.ReadFull(dst, got); err != nil || string(got) != "hello\n" {
		t.Fatalf("%q, %v; want the line typed", got, err)
	}
	// The ring is free for other transfers.
	src2, dst2 := newTestPipe(t), newTestPipe(t)
	other := spliceAsync(context.Background(), e, dst2, src2)
	if _, err := src2.Write([]byte("other")); err != nil {
		t.Fatal(err)
	}
	src2.CloseWrite()
	if r := waitResult(t, other, hangLimit); r.n != 5 || r.err != nil {
		t.Fatalf("a transfer beside the terminal's: %d, %v", r.n, r.err)
	}
	if st := e.rings[0].stats(); st.splices == 0 {
		t.Error("the ring ran no splice")
	}
	master.Close() // the hang-up: a read on the terminal fails (EIO)
	if r := waitResult(t, done, hangLimit); r.n != 6 {
		t.Fatalf("DoubleSplice from the terminal = %d, %v; want 6 bytes", r.n, r.err)
	}
}
