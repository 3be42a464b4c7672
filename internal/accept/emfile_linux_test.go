package accept

import (
	"errors"
	"net"
	"syscall"
	"testing"
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
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	free, err := syscall.Dup(0) // the lowest free descriptor number
	if err != nil {
		t.Fatal(err)
	}
	syscall.Close(free)
	low := old
	low.Cur = uint64(free)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	_, aerr := ln.Accept()
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(aerr, syscall.EMFILE) {
		t.Fatalf("Accept with RLIMIT_NOFILE %d: %v; want EMFILE", low.Cur, aerr)
	}
	if !Transient(aerr) {
		t.Errorf("Transient(%v) = false: the server would stop on a real EMFILE", aerr)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatalf("Accept once descriptors are back: %v", err)
	}
	s.Close()
}
