//go:build linux && cgo

package kpipe

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"
)

// TestRingStoppedRefuses: once a ring's loop has stopped with an error, new
// transfers on it fail at once with that error instead of waiting forever
// for a loop that will never take them.
func TestRingStoppedRefuses(t *testing.T) {
	e, err := NewEngine(Config{Backend: BackendIOUring})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.Backend() != BackendIOUring {
		requireIOUring(t)
		t.Skipf("io_uring is refused here, as %s=1 says (%s)", noIOUringEnv, e.Backend())
	}
	for _, r := range e.rings {
		r.failAll(syscall.EIO) // what the loop does when kp_ring_run fails
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
