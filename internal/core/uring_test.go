//go:build linux && cgo

package core

import (
	"errors"
	"testing"
)

func TestProbeIOUring(t *testing.T) {
	ops, err := probeIOUring()
	if errno := ioURingSetupErrno(); errno != 0 {
		// io_uring refused (make test-nouring): the probe must say why.
		if !errors.Is(err, errno) {
			t.Fatalf("io_uring_setup fails with %v, the probe says %v", errno, err)
		}
		requireIOUring(t)
		return
	}
	if err != nil {
		t.Fatalf("io_uring must work on this machine: %v", err)
	}
	for _, want := range []uringOps{uringSplice, uringTee, uringPollAdd, uringAsyncCancel, uringLinkTimeout} {
		if ops&want == 0 {
			t.Errorf("probe lacks op bit %#x (got %#x)", want, ops)
		}
	}
	again, err2 := probeIOUring()
	if again != ops || err2 != err {
		t.Error("second probe differs from the first")
	}
}
