//go:build linux

package core

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestEndpointResolution(t *testing.T) {
	p, err := NewPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var e endpoint
	if !e.set(p, false) || e.file != p.r || e.pipe != p {
		t.Errorf("*Pipe as source: got file %v pipe %v, want the read end", e.file, e.pipe)
	}
	if !e.set(p, true) || e.file != p.w {
		t.Errorf("*Pipe as destination: got %v, want the write end", e.file)
	}
	if !e.set(os.Stdin, false) || e.file != os.Stdin || e.pipe != nil {
		t.Error("*os.File not resolved to itself")
	}
	if e.set(&bytes.Buffer{}, false) || e.set(strings.NewReader("x"), false) {
		t.Error("a value without a descriptor resolved to an endpoint")
	}
	var nilFile *os.File
	var nilPipe *Pipe
	if e.set(nilFile, false) || e.set(nilPipe, true) {
		t.Error("a nil *os.File or *Pipe resolved to an endpoint")
	}
	a, b := tcpPair(t)
	if !e.set(a, true) || e.tcp != a {
		t.Error("*net.TCPConn not resolved")
	}
	if !e.set(wrappedConn{b}, false) || e.conn == nil || e.tcp != nil {
		t.Error("a wrapped syscall.Conn must take the generic path")
	}
}

// wrappedConn hides the concrete type of a connection, so that kpipe sees
// only a syscall.Conn.
type wrappedConn struct{ *net.TCPConn }

// The generic syscall.Conn path (a heap copy of the operation) moves the same
// bytes as the concrete ones, in both directions and through Copy.
func TestGenericSyscallConn(t *testing.T) {
	a, b := tcpPair(t)
	p, err := NewPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	msg := bytes.Repeat([]byte("kpipe"), 40000) // 200 kB: more than a pipe holds
	go func() {
		a.Write(msg)
		a.CloseWrite()
	}()
	got := make(chan []byte, 1)
	go func() {
		var buf bytes.Buffer
		io.Copy(&buf, p)
		got <- buf.Bytes()
	}()
	n, err := Splice(p, wrappedConn{b}, -1<<16)
	if err != nil || n != int64(len(msg)) {
		t.Fatalf("Splice from a wrapped conn: %d, %v; want %d", n, err, len(msg))
	}
	p.CloseWrite()
	if !bytes.Equal(<-got, msg) {
		t.Fatal("bytes differ after the generic path")
	}

	// Copy from a file into the wrapped conn (splice through a pooled pipe).
	f, err := os.CreateTemp(t.TempDir(), "src")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Write(msg)
	f.Seek(0, io.SeekStart)
	recv := make(chan []byte, 1)
	go func() {
		var buf bytes.Buffer
		io.Copy(&buf, b)
		recv <- buf.Bytes()
	}()
	n, err = Copy(wrappedConn{a}, f)
	if err == nil && n == int64(len(msg)) {
		// a was half-closed above; the copy must have failed.
		t.Fatalf("Copy into a half-closed conn succeeded: %d", n)
	}
	if !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("Copy into a half-closed conn: %v, want EPIPE", err)
	}
	b.Close()
	<-recv
}

// A blocking-mode pipe (not registered with the poller) is waited on by the
// thread, as a read on it would; Splice still gets every byte.
func TestBlockingModeEndpoint(t *testing.T) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	r := os.NewFile(uintptr(fds[0]), "blocking-r")
	w := os.NewFile(uintptr(fds[1]), "blocking-w")
	defer r.Close()
	defer w.Close()
	p, err := NewPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	go func() {
		time.Sleep(50 * time.Millisecond) // Splice must wait for this
		w.Write([]byte("late"))
		w.Close()
	}()
	n, err := Splice(p, r, -4096)
	if err != nil || n != 4 {
		t.Fatalf("Splice from a blocking pipe: %d, %v; want 4", n, err)
	}
	buf := make([]byte, 8)
	m, _ := p.Read(buf)
	if string(buf[:m]) != "late" {
		t.Fatalf("read %q, want %q", buf[:m], "late")
	}
}

// idlePipes reports how many idle pipes the pool holds.
func idlePipes(t *testing.T) int {
	t.Helper()
	pipePool.mu.Lock()
	defer pipePool.mu.Unlock()
	return len(pipePool.free)
}

func TestWrapErrno(t *testing.T) {
	err := wrapErrno("splice", syscall.EPIPE)
	if !errors.Is(err, syscall.EPIPE) || !strings.Contains(err.Error(), "splice") {
		t.Errorf("wrapErrno = %v: want an error naming splice that is EPIPE", err)
	}
}

func TestFdType(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "t")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := NewPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	a, _ := tcpPair(t)
	var op fdOp
	op.src.set(f, false)
	op.dst.set(a, true)
	st, dt, err := op.types()
	if err != nil || st != fdFile || dt != fdSocket {
		t.Errorf("types(file, tcp) = %v, %v, %v", st, dt, err)
	}
	op.src.set(p, false)
	op.dst.set(os.Stdout, true)
	st, _, err = op.types()
	if err != nil || st != fdPipe {
		t.Errorf("type of a *Pipe = %v, %v", st, err)
	}
}
