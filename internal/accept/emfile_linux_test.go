package accept_test

import (
	"errors"
	"net"
	"syscall"
	"testing"

	"github.com/kpipe/kpipe/internal/accept"
	"github.com/kpipe/kpipe/internal/testprog"
)

// TestTransientRealEMFILE makes accept4 itself fail with EMFILE, by
// lowering RLIMIT_NOFILE to the lowest free descriptor, and checks that
// the error Go's listener returns is Transient and that the connection
// waiting in the backlog is accepted once descriptors are back.
func TestTransientRealEMFILE(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	restore := testprog.LowerNoFile(t)
	_, aerr := ln.Accept()
	restore()
	if !errors.Is(aerr, syscall.EMFILE) {
		t.Fatalf("Accept with no descriptor free: %v; want EMFILE", aerr)
	}
	if !accept.Transient(aerr) {
		t.Errorf("Transient(%v) = false: the server would stop on a real EMFILE", aerr)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatalf("Accept once descriptors are back: %v", err)
	}
	s.Close()
}
