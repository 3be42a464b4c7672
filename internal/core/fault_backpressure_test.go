//go:build linux

package core

import (
	"context"
	"io"
	"net"
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"time"
)

// backPressureSize is what the first transfer of TestFaultBackPressure
// (DoubleSplice on the default engine) has to deliver, generated as it
// goes; the other paths deliver backPressureSmall, to keep the suite short.
const (
	backPressureSize  = 1 << 30
	backPressureSmall = 128 << 20
)

// backPressureTaken bounds what a stalled transfer may have taken from its
// source: what the kernel's socket buffers and pipes on the way can hold
// (loopback TCP buffers grow to several MiB each; a Proxy has four), far
// less than the 128 MiB or 1 GiB on offer.
const backPressureTaken = 64 << 20

// backPressureRSS bounds the growth of the resident set while 1 GiB waits
// behind a reader that stopped reading: the data must wait in the kernel's
// socket buffers and pipes and in the source's generator, not pile up in
// the process.
const backPressureRSS = 32 << 20

// TestFaultBackPressure sends 1 GiB, generated lazily, through DoubleSplice
// (default engine), and 128 MiB through DoubleSplice on io_uring, Proxy and
// Copy, toward a connection whose reader pauses. While the transfer is
// stalled, the sender must have been held back (less than 64 MiB taken
// from it) and the resident set must not grow by more than 32 MiB; once the
// reader resumes, everything arrives with the SHA-256 it was sent with. It runs in a child process so that
// the resident set is the transfers' alone.
func TestFaultBackPressure(t *testing.T) {
	if !inFaultChild(t) {
		runFaultChild(t, faultChild{})
		return
	}
	eU, err := NewEngine(Config{Backend: BackendIOUring})
	if err != nil {
		t.Fatal(err)
	}
	defer eU.Close()
	DefaultBackend()

	// Each case moves src (fed by the generator unless the generator is
	// handed over as src itself) to dst and returns the bytes delivered.
	cases := []struct {
		name  string
		lazy  bool // src is the generator itself (no descriptor)
		proxy bool // dstPeer must half-close for the way back
		run   func(ctx context.Context, dst *net.TCPConn, src io.Reader) (int64, error)
	}{
		{"DoubleSplice/default", false, false, func(ctx context.Context, dst *net.TCPConn, src io.Reader) (int64, error) {
			return DoubleSplice(ctx, dst, src)
		}},
		{"DoubleSplice/" + eU.Backend(), false, false, func(ctx context.Context, dst *net.TCPConn, src io.Reader) (int64, error) {
			return eU.DoubleSplice(ctx, dst, src)
		}},
		{"Proxy/default", false, true, func(ctx context.Context, dst *net.TCPConn, src io.Reader) (int64, error) {
			aToB, bToA, err := Proxy(ctx, src.(*net.TCPConn), dst)
			if err == nil && bToA != 0 {
				t.Errorf("Proxy moved %d bytes the way back, want 0", bToA)
			}
			return aToB, err
		}},
		{"Copy/generator->tcp", true, false, func(ctx context.Context, dst *net.TCPConn, src io.Reader) (int64, error) {
			return Copy(dst, src)
		}},
	}
	for i, c := range cases {
		size := int64(backPressureSmall)
		if i == 0 && !quickSizes() {
			// Under the race detector the generator's copying is
			// instrumented: the 1 GiB case runs without race and
			// without -short.
			size = backPressureSize
		}
		t.Run(c.name, func(t *testing.T) {
			gen := newLazySource(size)
			dst, dstPeer := tcpPair(t)
			var src io.Reader = gen
			fed := make(chan error, 1)
			if c.lazy {
				fed <- nil
			} else {
				srcPeer, s := tcpPair(t)
				src = s
				go func() {
					_, err := io.CopyBuffer(struct{ io.Writer }{srcPeer}, gen, make([]byte, 64<<10))
					srcPeer.CloseWrite()
					fed <- err
				}()
				t.Cleanup(func() { srcPeer.Close() })
			}
			if c.proxy {
				dstPeer.CloseWrite() // nothing the way back
			}

			runtime.GC()
			debug.FreeOSMemory()
			base := rssBytes(t)
			var peak sampledMax
			stopSampling := peak.sample(t, func() int64 {
				kib, _ := procStatusField("VmRSS")
				return kib << 10
			})

			type result struct {
				n   int64
				err error
			}
			done := make(chan result, 1)
			go func() {
				n, err := c.run(context.Background(), dst, src)
				if err == nil && !c.proxy {
					err = dst.CloseWrite()
				}
				done <- result{n, err}
			}()
			stalled := waitStalled(t, gen.sent.Load)
			stallRSS := rssBytes(t)
			t.Logf("stalled after %d MiB taken from the generator; RSS %+.1f MiB over %.1f MiB",
				stalled>>20, float64(stallRSS-base)/(1<<20), float64(base)/(1<<20))
			if stalled >= backPressureTaken {
				t.Fatalf("the transfer took %d MiB from its source while nobody read its output, want under %d MiB",
					stalled>>20, backPressureTaken>>20)
			}

			arrived := drainAsync(dstPeer)
			r := <-done
			got := <-arrived
			if err := <-fed; err != nil {
				t.Fatalf("the generator's writer: %v", err)
			}
			stopSampling()
			if r.err != nil || r.n != size {
				t.Fatalf("transfer = %d, %v; want %d, nil", r.n, r.err, size)
			}
			if got.err != nil || got.n != size {
				t.Fatalf("the reader got %d bytes (%v), want %d", got.n, got.err, size)
			}
			if got.sum != gen.hash {
				t.Fatalf("the reader got sha256 %s, the generator sent %s", sumString(got.sum), sumString(gen.hash))
			}
			growth := max(stallRSS, peak.get()) - base
			t.Logf("peak RSS growth %.1f MiB", float64(growth)/(1<<20))
			if growth > backPressureRSS {
				t.Fatalf("the resident set grew by %d MiB (stalled: %d MiB), want at most %d MiB",
					growth>>20, (stallRSS-base)>>20, backPressureRSS>>20)
			}
		})
	}
}

// sampledMax is the largest of values sampled in the background.
type sampledMax struct {
	mu sync.Mutex
	v  int64
}

func (m *sampledMax) get() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.v
}

// sample samples f every 20 ms until the returned stop is called.
// f runs on another goroutine: it must not call t.Fatal.
func (m *sampledMax) sample(t *testing.T, f func() int64) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			v := f()
			m.mu.Lock()
			m.v = max(m.v, v)
			m.mu.Unlock()
			select {
			case <-quit:
				return
			case <-tick.C:
			}
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { close(quit); <-done }) }
	t.Cleanup(stop)
	return stop
}
