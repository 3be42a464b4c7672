//go:build linux && cgo

package core

import (
	"errors"
	"os"
	"strings"
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

func TestZlibVersion(t *testing.T) {
	v := ZlibVersion()
	if !strings.HasPrefix(v, "1.") {
		t.Errorf("ZlibVersion() = %q, want 1.x", v)
	}
	if !zlibCompatible() {
		t.Error("run-time zlib incompatible with the headers")
	}
}

// TestCompressionEngine: where libisal-dev and libdeflate-dev are installed
// (make deps installs them), ISA-L and libdeflate run, unless
// KPIPE_ZENGINE=zlib keeps them out (make test's second run of the
// compression tests).
func TestCompressionEngine(t *testing.T) {
	var engines []string
	if os.Getenv("KPIPE_ZENGINE") != "zlib" {
		if _, err := os.Stat("/usr/include/isa-l/igzip_lib.h"); err == nil {
			engines = append(engines, "isa-l")
		}
		if _, err := os.Stat("/usr/include/libdeflate.h"); err == nil {
			engines = append(engines, "libdeflate")
		}
	}
	want := strings.Join(append(engines, "zlib"), "+")
	if got := CompressionEngine(); got != want {
		t.Errorf("CompressionEngine() = %q, want %q", got, want)
	}
}
