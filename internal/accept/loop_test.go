package accept

import (
	"bytes"
	"errors"
	"log"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestServe checks that Serve logs the errors of its handlers with the
// client's address and returns nil only once the listener is closed and
// every handler has returned.
func TestServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var logs bytes.Buffer
	logger := log.New(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), "", 0)
	release := make(chan struct{})
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- Serve(ln, logger, func(c net.Conn) error {
			defer c.Close()
			started <- struct{}{}
			<-release
			return errors.New("handler failed")
		})
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	<-started
	ln.Close()
	select {
	case err := <-done:
		t.Fatalf("Serve returned %v while a handler was running", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-done; err != nil {
		t.Errorf("Serve: %v, want nil after the listener closed", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := c.LocalAddr().String() + ": handler failed"; !strings.Contains(logs.String(), want) {
		t.Errorf("log %q, want %q", logs.String(), want)
	}
}

// TestLoopSlots checks that a Loop with MaxConns 1 serves one connection at
// a time, and that closing Stopping ends Run while it waits for a slot.
func TestLoopSlots(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	stopping := make(chan struct{})
	l := &Loop{Log: log.New(&bytes.Buffer{}, "", 0), MaxConns: 1, Stopping: stopping}
	release := make(chan struct{})
	served := make(chan struct{}, 2)
	done := make(chan error, 1)
	go func() {
		done <- l.Run(ln, func(c net.Conn) {
			defer c.Close()
			served <- struct{}{}
			<-release
		})
	}()
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	<-served
	select {
	case <-served:
		t.Fatal("a second connection was served while the only slot was taken")
	case <-time.After(50 * time.Millisecond):
	}
	if n := l.Live(); n != 1 {
		t.Errorf("Live() = %d, want 1", n)
	}
	close(stopping)
	if err := <-done; err != nil {
		t.Errorf("Run: %v, want nil once Stopping is closed", err)
	}
	close(release)
	l.Wait()
}

// writerFunc is an io.Writer made of a function.
type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
