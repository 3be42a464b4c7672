//go:build linux && cgo

package kpipe

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/kpipe/kpipe/internal/nouring"
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
