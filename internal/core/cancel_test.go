//go:build linux

package core

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Cancellation keeps its promise on every backend and in the build without
// C: it ends a transfer whatever mode its descriptors are in, and loses no
// byte.

// hangLimit is how long a test waits for data that should flow at once
// before it reports a hang. It detects hangs, it measures nothing.
const hangLimit = 20 * time.Second

// blockingPipe returns both ends of a pipe in blocking mode, as an
// inherited stdin is: os.NewFile on syscall.Pipe does not make them
// non-blocking.
func blockingPipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	r, w = os.NewFile(uintptr(fds[0]), "blocking-r"), os.NewFile(uintptr(fds[1]), "blocking-w")
	t.Cleanup(func() { r.Close(); w.Close() })
	for _, f := range []*os.File{r, w} {
		if fl, _ := fdFlags(t, f); fl&syscall.O_NONBLOCK != 0 {
			t.Fatalf("%s is non-blocking", f.Name())
		}
	}
	return r, w
}

// TestCancelBlockingSource cancels a DoubleSplice whose source is a pipe in
// blocking mode while it waits for input: the call returns ctx.Err() with
// the bytes it delivered, at once and not at the writer's close, and the
// source stays usable.
func TestCancelBlockingSource(t *testing.T) {
	forEachBackend(t, Config{}, func(t *testing.T, e *Engine) {
		for _, idle := range []bool{false, true} {
			src, feed := blockingPipe(t)
			dst := newTestPipe(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			eng := e
			if idle {
				// The idle timeout must end a blocking wait too.
				var err error
				if eng, err = NewEngine(Config{Backend: e.Backend(), IdleTimeout: 300 * time.Millisecond}); err != nil {
					t.Fatal(err)
				}
				defer eng.Close()
			}
			done := spliceAsync(ctx, eng, dst, src)
			if _, err := feed.Write([]byte("hello")); err != nil {
				t.Fatal(err)
			}
			dst.SetReadDeadline(time.Now().Add(hangLimit))
			got := make([]byte, 5)
			if _, err := io.ReadFull(dst, got); err != nil || string(got) != "hello" {
				t.Fatalf("idle=%v: %q, %v before the cancel", idle, got, err)
			}
			if !idle {
				cancel()
			}
			res := waitResult(t, done, cancelLimit+eng.cfg.IdleTimeout)
			switch {
			case res.n != 5:
				t.Errorf("idle=%v: DoubleSplice = %d, %v; want 5 bytes", idle, res.n, res.err)
			case !idle && !errors.Is(res.err, context.Canceled):
				t.Errorf("DoubleSplice = %d, %v; want context.Canceled", res.n, res.err)
			case idle && !errors.Is(res.err, ErrIdleTimeout):
				t.Errorf("DoubleSplice with IdleTimeout = %d, %v; want ErrIdleTimeout", res.n, res.err)
			}
			if len(Undelivered(res.err)) != 0 {
				t.Errorf("idle=%v: nothing was held back, yet %v", idle, res.err)
			}
			// The source is the caller's again, in its own mode.
			if _, err := feed.Write([]byte("!")); err != nil {
				t.Fatal(err)
			}
			b := make([]byte, 1)
			if _, err := src.Read(b); err != nil || b[0] != '!' {
				t.Fatalf("idle=%v: reading the source after the cancel: %q, %v", idle, b, err)
			}
		}
	})
}

// TestCancelHandsBack writes 16 MiB through DoubleSplice toward a reader
// that has stopped, cancels, and then reads what reached the destination,
// what the call handed back, and what is left in the source: together they
// must be the 16 MiB, in order.
func TestCancelHandsBack(t *testing.T) {
	size := 16 << 20
	if quickSizes() {
		size = 8 << 20
	}
	data := testData(size)
	forEachBackend(t, Config{}, func(t *testing.T, e *Engine) {
		for _, viaProxy := range []bool{false, true} {
			feed, src := tcpPair(t)
			dst, peer := tcpPair(t)
			var fed atomic.Int64
			fedAll := make(chan error, 1)
			go func() {
				for off := 0; off < len(data); off += 64 << 10 {
					n, err := feed.Write(data[off:min(off+64<<10, len(data))])
					fed.Add(int64(n))
					if err != nil {
						fedAll <- err
						return
					}
				}
				fedAll <- feed.CloseWrite()
			}()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan spliceResult, 1)
			go func() {
				var n int64
				var err error
				if viaProxy {
					n, _, err = e.Proxy(ctx, src, dst)
				} else {
					n, err = e.DoubleSplice(ctx, dst, src)
				}
				done <- spliceResult{n: n, err: err}
			}()
			// Wait for back pressure: the feeder stops making progress.
			for last, still := int64(-1), 0; still < 5; {
				time.Sleep(20 * time.Millisecond)
				if f := fed.Load(); f == last {
					still++
				} else {
					last, still = f, 0
				}
			}
			cancel()
			res := waitResult(t, done, cancelLimit)
			if !errors.Is(res.err, context.Canceled) {
				t.Fatalf("proxy=%v: %d, %v; want context.Canceled", viaProxy, res.n, res.err)
			}
			var back []byte
			for _, ue := range Undelivered(res.err) {
				if ue.Dst != io.Writer(dst) {
					t.Errorf("proxy=%v: bytes handed back for %v, want for the destination", viaProxy, ue.Dst)
				}
				back = append(back, ue.Data...)
			}
			// What arrived: exactly the count returned.
			arrived := make([]byte, res.n)
			peer.SetReadDeadline(time.Now().Add(hangLimit))
			if _, err := io.ReadFull(peer, arrived); err != nil {
				t.Fatalf("proxy=%v: reading the %d bytes delivered: %v", viaProxy, res.n, err)
			}
			// The rest of the source, read by the caller.
			src.SetReadDeadline(time.Now().Add(hangLimit))
			rest, err := io.ReadAll(src)
			if err != nil {
				t.Fatalf("proxy=%v: reading the rest of the source: %v", viaProxy, err)
			}
			if err := <-fedAll; err != nil {
				t.Fatal(err)
			}
			all := append(append(arrived, back...), rest...)
			if !bytes.Equal(all, data) {
				t.Fatalf("proxy=%v: %d delivered + %d handed back + %d left in the source = %d bytes, not the %d sent in order",
					viaProxy, len(arrived), len(back), len(rest), len(all), len(data))
			}
			t.Logf("proxy=%v: %d delivered, %d handed back, %d left in the source", viaProxy, len(arrived), len(back), len(rest))
			// Nothing more reaches the destination after the return.
			peer.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			if n, _ := peer.Read(make([]byte, 1)); n != 0 {
				t.Fatalf("proxy=%v: a byte reached the destination after DoubleSplice returned", viaProxy)
			}
		}
	})
}
