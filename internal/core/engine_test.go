//go:build linux

package core

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Tests of the Engine: backend choice, DoubleSplice's results, cancellation,
// idle timeouts, faults and Close, each on both backends.

// kernelAllowsIOUring asks the kernel directly, without kpipe's probe,
// whether this process may set up an io_uring.
func kernelAllowsIOUring() bool {
	var params [120]byte // struct io_uring_params
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, 4, uintptr(unsafe.Pointer(&params[0])), 0)
	if errno != 0 {
		return false
	}
	unix.Close(int(fd))
	return true
}

// noIOUringEnv, set to 1, says that io_uring is refused to this process on
// purpose (make test-nouring, the fault tests' children: nouring.Exec sets
// it). Without it, a Linux build with the C core where the kernel refuses
// io_uring fails the tests that would otherwise run their io_uring half on
// poll unseen.
const noIOUringEnv = "KPIPE_TEST_NO_IOURING"

// requireIOUring fails t when this build has an io_uring backend that the
// kernel refuses, unless noIOUringEnv says that is expected.
func requireIOUring(t testing.TB) {
	t.Helper()
	if Implementation() != ImplLinuxCgo || os.Getenv(noIOUringEnv) == "1" || kernelAllowsIOUring() {
		return
	}
	t.Fatalf("the kernel refuses io_uring to this process, so the io_uring tests would run on poll; set %s=1 where that is expected", noIOUringEnv)
}

// wantBackend is the backend NewEngine(cfg) must choose here.
func wantBackend(cfg Config) string {
	asked := cfg.Backend
	if asked == "" {
		asked = backendFromEnv()
	}
	if cfg.ForcePoll || forcePollFromEnv() || asked != BackendIOUring || !kernelAllowsIOUring() ||
		Implementation() != ImplLinuxCgo { // the io_uring loop is C
		return BackendPoll
	}
	return BackendIOUring
}

// bothBackends are the configurations that ask for each backend.
var bothBackends = []Config{{Backend: BackendIOUring}, {ForcePoll: true}}

// forEachBackend runs fn in a subtest named by the backend, once with base
// asking for io_uring and once with base.ForcePoll set, on an engine of its
// own. It checks that the backend is the expected one, that the descriptor
// count is back to what it was after NewEngine once fn is done (the rings'
// pooled pipes aside), and that Engine.Close releases everything the
// engine opened. With KPIPE_BACKEND set (make test's run that makes
// io_uring the default, for the tests of the default engine), fn runs once,
// on base as given: the backend the variable picks.
func forEachBackend(t *testing.T, base Config, fn func(t *testing.T, e *Engine)) {
	t.Helper()
	requireIOUring(t)
	seen := map[string]bool{}
	configs := []Config{base, base}
	configs[0].Backend = BackendIOUring
	configs[1].ForcePoll = true
	if backendFromEnv() != "" {
		configs = []Config{base}
	}
	for _, cfg := range configs {
		before := openFDs(t)
		e := newCheckedEngine(t, cfg)
		if seen[e.Backend()] {
			e.Close()
			continue
		}
		seen[e.Backend()] = true
		baseFD := openFDs(t)
		ok := t.Run(e.Backend(), func(t *testing.T) { fn(t, e) })
		if ok {
			// The subtest's cleanups have closed its descriptors.
			checkFDs(t, e, baseFD)
		}
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := e.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if !t.Failed() {
			waitFDs(t, "after Engine.Close", before, nil)
		}
	}
}

// checkFDs checks that the process holds the descriptors it held at base,
// plus the pipes e's rings keep pooled.
func checkFDs(t *testing.T, e *Engine, base int) {
	t.Helper()
	waitFDs(t, "after the test", base, func() int { return 2 * e.pooledPipes() })
}

// waitFDs waits briefly (goroutines of the test may still be closing
// descriptors) for the count of open descriptors to come back to base plus
// extra().
func waitFDs(t *testing.T, when string, base int, extra func() int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		want := base
		if extra != nil {
			want += extra()
		}
		// Fewer is fine: the baseline may have counted descriptors
		// that earlier tests' goroutines were still closing.
		got := openFDs(t)
		if got <= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d descriptors open, want %d", when, got, want)
		}
		// Go's own splice pipes are closed by finalizers.
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}

func TestEngineBackend(t *testing.T) {
	requireIOUring(t)
	if !kernelAllowsIOUring() {
		t.Log("io_uring is not available to this process: both configurations must give poll")
	}
	for _, cfg := range bothBackends {
		e, err := NewEngine(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := e.Backend(), wantBackend(cfg); got != want {
			t.Errorf("NewEngine(%+v).Backend() = %q, want %q", cfg, got, want)
		}
		e.Close()
	}
	if got, want := DefaultBackend(), wantBackend(Config{}); got != want {
		t.Errorf("DefaultBackend() = %q, want %q", got, want)
	}
}

// TestEngineBackendEnv: KPIPE_BACKEND=poll wins over a Config asking for
// io_uring; KPIPE_BACKEND=io_uring is the default of an empty Config only;
// without it the default is poll.
func TestEngineBackendEnv(t *testing.T) {
	io := BackendPoll
	if kernelAllowsIOUring() && Implementation() == ImplLinuxCgo {
		io = BackendIOUring
	}
	for _, c := range []struct {
		env  string
		cfg  Config
		want string
	}{
		{"poll", Config{Backend: BackendIOUring}, BackendPoll},
		{"poll", Config{}, BackendPoll},
		{"io_uring", Config{}, io},
		{"io_uring", Config{Backend: BackendPoll}, BackendPoll},
		{"", Config{}, BackendPoll},
		{"", Config{Backend: BackendIOUring}, io},
		{"bogus", Config{}, BackendPoll},
	} {
		t.Setenv(backendEnv, c.env)
		e, err := NewEngine(c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.Backend(); got != c.want {
			t.Errorf("with %s=%q, NewEngine(%+v).Backend() = %q, want %q", backendEnv, c.env, c.cfg, got, c.want)
		}
		e.Close()
	}
}

func TestEngineBadConfig(t *testing.T) {
	for _, cfg := range []Config{{PipeSize: -1}, {IdleTimeout: -time.Second}, {Backend: "epoll"}} {
		if e, err := NewEngine(cfg); err == nil {
			e.Close()
			t.Errorf("NewEngine(%+v) succeeded", cfg)
		}
	}
}

func TestDoubleSpliceNoFD(t *testing.T) {
	for _, cfg := range bothBackends {
		e, err := NewEngine(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()

		ctx := context.Background()
		f := tempFileWith(t, []byte("data"))
		var buf bytes.Buffer
		if n, err := e.DoubleSplice(ctx, &buf, f); !errors.Is(err, ErrNoFD) || n != 0 {
			t.Errorf("DoubleSplice(bytes.Buffer, file) = %d, %v; want ErrNoFD", n, err)
		}
		if n, err := e.DoubleSplice(ctx, f, bytes.NewReader([]byte("x"))); !errors.Is(err, ErrNoFD) || n != 0 {
			t.Errorf("DoubleSplice(file, bytes.Reader) = %d, %v; want ErrNoFD", n, err)
		}
		a, b := unixPair(t)
		if _, _, err := e.Proxy(ctx, a, struct{ io.ReadWriter }{b}); !errors.Is(err, ErrNoFD) {
			t.Errorf("Proxy(unix, wrapped) = %v; want ErrNoFD", err)
		}
	}
	if _, err := DoubleSplice(context.Background(), io.Discard, bytes.NewReader(nil)); !errors.Is(err, ErrNoFD) {
		t.Errorf("package DoubleSplice = %v; want ErrNoFD", err)
	}
}

// TestDoubleSpliceZeroLength: sources that end at once give 0 bytes and no
// error.
func TestDoubleSpliceZeroLength(t *testing.T) {
	forEachBackend(t, Config{}, func(t *testing.T, e *Engine) {
		ctx := context.Background()
		for _, sk := range srcKinds {
			if !sk.fd {
				continue
			}
			t.Run(sk.name, func(t *testing.T) {
				src, wait := sk.open(t, nil)
				c, s := tcpPair(t)
				got := streamSink(t, s, func() { c.CloseWrite() }, func() { s.Close(); c.Close() })
				n, err := e.DoubleSplice(ctx, c, src)
				if n != 0 || err != nil {
					t.Fatalf("DoubleSplice = %d, %v; want 0, nil", n, err)
				}
				if err := wait(); err != nil {
					t.Fatal(err)
				}
				checkArrived(t, got(), nil)
			})
		}
	})
}

// TestDoubleSpliceKinds moves data between the fd endpoint kinds.
func TestDoubleSpliceKinds(t *testing.T) {
	forEachBackend(t, Config{}, func(t *testing.T, e *Engine) {
		ctx := context.Background()
		for _, size := range []int{1, 200000} {
			data := testData(size)
			for _, sk := range srcKinds {
				for _, dk := range dstKinds {
					if !sk.fd || !dk.fd || (sk.name == "file" && dk.name == "file") {
						continue
					}
					src, wait := sk.open(t, data)
					dst, finish := dk.open(t)
					n, err := e.DoubleSplice(ctx, dst, src)
					if err != nil || n != int64(size) {
						t.Fatalf("%d bytes %s->%s: DoubleSplice = %d, %v", size, sk.name, dk.name, n, err)
					}
					if err := wait(); err != nil {
						t.Fatal(err)
					}
					checkArrived(t, finish(), data)
				}
			}
		}
	})
}

// idleEnds returns a connected source whose peer sends nothing (peer kept
// for later use) and a destination with its peer.
func idleEnds(t *testing.T) (src, srcPeer, dst, dstPeer *net.TCPConn) {
	t.Helper()
	srcPeer, src = tcpPair(t)
	dst, dstPeer = tcpPair(t)
	return src, srcPeer, dst, dstPeer
}

// roundTrip writes msg into w and reads it back from r within 10 seconds.
func roundTrip(t *testing.T, what string, w io.Writer, r io.Reader, msg string) {
	t.Helper()
	roundTripWithin(t, 10*time.Second, what, w, r, msg)
}

// roundTripWithin is roundTrip with the time it waits for the answer.
func roundTripWithin(t *testing.T, wait time.Duration, what string, w io.Writer, r io.Reader, msg string) {
	t.Helper()
	if _, err := w.Write([]byte(msg)); err != nil {
		t.Fatalf("%s: write: %v", what, err)
	}
	if rc, ok := r.(interface{ SetReadDeadline(time.Time) error }); ok {
		rc.SetReadDeadline(time.Now().Add(wait))
		defer rc.SetReadDeadline(time.Time{})
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(r, buf); err != nil {
		t.Fatalf("%s: read: %v", what, err)
	}
	if string(buf) != msg {
		t.Fatalf("%s: read %q, want %q", what, buf, msg)
	}
}

// spliceResult is what a DoubleSplice returned, and when.
type spliceResult struct {
	n   int64
	err error
	at  time.Time
}

// spliceAsync runs e.DoubleSplice in a goroutine; its result arrives on the
// channel.
func spliceAsync(ctx context.Context, e *Engine, dst io.Writer, src io.Reader) <-chan spliceResult {
	ch := make(chan spliceResult, 1)
	go func() {
		n, err := e.DoubleSplice(ctx, dst, src)
		ch <- spliceResult{n, err, time.Now()}
	}()
	return ch
}

// cancelledSplice runs e.DoubleSplice(ctx, dst, src) in a goroutine,
// cancels ctx after running, and returns the result and how long after
// the cancellation it came.
func cancelledSplice(t *testing.T, e *Engine, dst io.Writer, src io.Reader, running time.Duration) (spliceResult, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch := spliceAsync(ctx, e, dst, src)
	time.Sleep(running)
	start := time.Now()
	cancel()
	r := waitResult(t, ch, 10*time.Second)
	return r, r.at.Sub(start)
}

// cancelLimit is how soon DoubleSplice must return after its context
// ends. It tells a transfer woken by the cancellation (a millisecond on a
// quiet machine) from one that notices it only when data or a timer comes
// (never, in these tests); it is not a speed target, so it leaves room for
// a loaded machine under the race detector, where a wake-up has taken
// 150 ms.
const cancelLimit = time.Second

func TestDoubleSpliceCancelIdle(t *testing.T) {
	forEachBackend(t, Config{}, func(t *testing.T, e *Engine) {
		var lats []time.Duration
		for i := 0; i < 5; i++ {
			src, srcPeer, dst, dstPeer := idleEnds(t)
			r, lat := cancelledSplice(t, e, dst, src, 20*time.Millisecond)
			lats = append(lats, lat)
			if !errors.Is(r.err, context.Canceled) || r.n != 0 {
				t.Fatalf("cancelled DoubleSplice = %d, %v; want 0, context.Canceled", r.n, r.err)
			}
			// The caller's descriptors are intact and usable both ways.
			requireNonblock(t, "src", src)
			requireNonblock(t, "dst", dst)
			roundTrip(t, "src peer -> src", srcPeer, src, "after cancel 1")
			roundTrip(t, "src -> src peer", src, srcPeer, "after cancel 2")
			roundTrip(t, "dst -> dst peer", dst, dstPeer, "after cancel 3")
			roundTrip(t, "dst peer -> dst", dstPeer, dst, "after cancel 4")
		}
		// On a loaded machine (CI under -race) one try may be held up by
		// the scheduler: the median must be within the limit.
		slices.Sort(lats)
		t.Logf("cancel latencies %v", lats)
		if med := lats[len(lats)/2]; med > cancelLimit {
			t.Errorf("median cancel latency %v, limit %v", med, cancelLimit)
		}

		// A deadline works the same way and gives DeadlineExceeded.
		src, _, dst, _ := idleEnds(t)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		r := waitResult(t, spliceAsync(ctx, e, dst, src), 10*time.Second)
		if !errors.Is(r.err, context.DeadlineExceeded) {
			t.Fatalf("DoubleSplice past its deadline = %v; want DeadlineExceeded", r.err)
		}
		// An already cancelled context: nothing starts.
		if n, err := e.DoubleSplice(ctx, dst, src); !errors.Is(err, context.DeadlineExceeded) || n != 0 {
			t.Fatalf("DoubleSplice with a done context = %d, %v", n, err)
		}
	})
}

// TestDoubleSpliceCancelStuck cancels a transfer whose destination does not
// read: data waits on both sides.
func TestDoubleSpliceCancelStuck(t *testing.T) {
	forEachBackend(t, Config{}, func(t *testing.T, e *Engine) {
		src, srcPeer, dst, dstPeer := idleEnds(t)
		stopFeeding := feedForever(srcPeer, make([]byte, 64<<10))
		r, lat := cancelledSplice(t, e, dst, src, 200*time.Millisecond)
		stopFeeding()
		srcPeer.SetWriteDeadline(time.Time{})
		if !errors.Is(r.err, context.Canceled) {
			t.Fatalf("DoubleSplice = %d, %v; want context.Canceled", r.n, r.err)
		}
		t.Logf("cancel latency %v", lat)
		if lat > 5*cancelLimit {
			t.Errorf("DoubleSplice returned %v after cancel", lat)
		}
		if r.n == 0 {
			t.Errorf("no byte moved before the destination filled")
		}
		// dst still takes writes once its peer drains it.
		go io.Copy(io.Discard, dstPeer)
		dst.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := dst.Write([]byte("still here")); err != nil {
			t.Fatalf("write to dst after cancel: %v", err)
		}
		dst.Close()
		requireNonblock(t, "src", src)
	})
}

func TestDoubleSpliceIdleTimeout(t *testing.T) {
	const idle = 400 * time.Millisecond
	forEachBackend(t, Config{IdleTimeout: idle}, func(t *testing.T, e *Engine) {
		src, srcPeer, dst, dstPeer := idleEnds(t)
		start := time.Now()
		r := waitResult(t, spliceAsync(context.Background(), e, dst, src), 10*time.Second)
		took := r.at.Sub(start)
		if !errors.Is(r.err, ErrIdleTimeout) || !errors.Is(r.err, syscall.ETIMEDOUT) {
			t.Fatalf("idle DoubleSplice = %d, %v; want ErrIdleTimeout", r.n, r.err)
		}
		if took < idle || took > idle+2*time.Second {
			t.Errorf("idle transfer ended after %v, IdleTimeout %v", took, idle)
		}
		roundTrip(t, "src after timeout", srcPeer, src, "ok")
		roundTrip(t, "dst after timeout", dst, dstPeer, "ok")
	})
}

// TestDoubleSpliceSourceReset: the source's peer resets the connection in
// the middle of a transfer.
func TestDoubleSpliceSourceReset(t *testing.T) {
	forEachBackend(t, Config{}, func(t *testing.T, e *Engine) {
		src, srcPeer, dst, dstPeer := idleEnds(t)
		go io.Copy(io.Discard, dstPeer)
		ch := spliceAsync(context.Background(), e, dst, src)
		if _, err := srcPeer.Write(testData(1 << 20)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		srcPeer.SetLinger(0)
		// Unread data at close makes the close a reset even without
		// linger: leave some in src's peer's receive queue.
		src.Write([]byte("unread"))
		srcPeer.Close()
		r := waitResult(t, ch, 10*time.Second)
		if !errors.Is(r.err, syscall.ECONNRESET) {
			t.Fatalf("DoubleSplice from a reset source = %d, %v; want ECONNRESET", r.n, r.err)
		}
	})
}

// TestDoubleSpliceDestinationGone: the destination's peer goes away (closes
// or resets) while the transfer writes to it: an error, and no SIGPIPE.
func TestDoubleSpliceDestinationGone(t *testing.T) {
	forEachBackend(t, Config{}, func(t *testing.T, e *Engine) {
		for _, reset := range []bool{false, true} {
			src, srcPeer, dst, dstPeer := idleEnds(t)
			ch := spliceAsync(context.Background(), e, dst, src)
			stopFeeding := feedForever(srcPeer, testData(64<<10))
			buf := make([]byte, 256<<10)
			if _, err := io.ReadFull(dstPeer, buf); err != nil {
				t.Fatal(err)
			}
			if reset {
				dstPeer.SetLinger(0)
			}
			dstPeer.Close()
			r := waitResult(t, ch, 10*time.Second)
			stopFeeding()
			if !isPeerGone(r.err) {
				t.Fatalf("reset %v: DoubleSplice into a vanished peer = %d, %v; want EPIPE or ECONNRESET", reset, r.n, r.err)
			}
		}
		// Into a Unix socket and a pipe whose readers are gone.
		a, b := unixPair(t)
		b.Close()
		f := tempFileWith(t, testData(1<<20))
		if _, err := e.DoubleSplice(context.Background(), a, f); !isPeerGone(err) {
			t.Fatalf("DoubleSplice into a closed unix socket: %v", err)
		}
		r, w := osPipe(t)
		r.Close()
		f.Seek(0, io.SeekStart)
		if _, err := e.DoubleSplice(context.Background(), w, f); !errors.Is(err, syscall.EPIPE) {
			t.Fatalf("DoubleSplice into a pipe without reader: %v", err)
		}
	})
}

// TestEngineClose: Close ends transfers in flight with ErrEngineClosed,
// returns once they have returned, and is idempotent; later calls fail.
func TestEngineClose(t *testing.T) {
	for _, cfg := range bothBackends {
		before := openFDs(t)
		e, err := NewEngine(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(e.Backend(), func(t *testing.T) {
			const n = 8
			var chans []<-chan spliceResult
			for i := 0; i < n; i++ {
				src, _, dst, _ := idleEnds(t)
				chans = append(chans, spliceAsync(context.Background(), e, dst, src))
			}
			a, b := tcpPair(t)
			c, d := tcpPair(t)
			px := make(chan error, 1)
			go func() { _, _, err := e.Proxy(context.Background(), b, c); px <- err }()
			time.Sleep(50 * time.Millisecond)
			closed := make(chan error, 1)
			go func() { closed <- e.Close() }()
			select {
			case err := <-closed:
				if err != nil {
					t.Errorf("Close: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Close did not return")
			}
			for _, ch := range chans {
				r := waitResult(t, ch, 5*time.Second)
				if !errors.Is(r.err, ErrEngineClosed) {
					t.Errorf("transfer ended by Close: %d, %v; want ErrEngineClosed", r.n, r.err)
				}
			}
			if err := <-px; !errors.Is(err, ErrEngineClosed) {
				t.Errorf("Proxy ended by Close: %v; want ErrEngineClosed", err)
			}
			if err := e.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			if _, err := e.DoubleSplice(context.Background(), a, d); !errors.Is(err, ErrEngineClosed) {
				t.Errorf("DoubleSplice after Close: %v", err)
			}
			if _, _, err := e.Proxy(context.Background(), a, d); !errors.Is(err, ErrEngineClosed) {
				t.Errorf("Proxy after Close: %v", err)
			}
			roundTrip(t, "conn after Close", a, b, "ok")
		})
		e.Close()
		waitFDs(t, "after Close", before, nil)
	}
}

// TestEngineCloseRace starts transfers while Close runs.
func TestEngineCloseRace(t *testing.T) {
	for _, cfg := range bothBackends {
		e, err := NewEngine(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(e.Backend(), func(t *testing.T) {
			f := tempFileWith(t, testData(4096))
			null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer null.Close()
			done := make(chan struct{})
			for i := 0; i < 4; i++ {
				go func() {
					defer func() { done <- struct{}{} }()
					for {
						g, err := os.Open(f.Name())
						if err != nil {
							t.Error(err)
							return
						}
						n, err := e.DoubleSplice(context.Background(), null, g)
						g.Close()
						if errors.Is(err, ErrEngineClosed) {
							return
						}
						if err != nil || n != 4096 {
							t.Errorf("DoubleSplice = %d, %v", n, err)
							return
						}
					}
				}()
			}
			time.Sleep(30 * time.Millisecond)
			e.Close()
			for i := 0; i < 4; i++ {
				<-done
			}
		})
	}
}

// TestDoubleSpliceIdleHoldsNoPipe: on the poll backend a transfer whose
// source has nothing to read holds no descriptor beyond the caller's: its
// pipe is back in the pool (and openFDs closes the pool's pipes) between
// bursts, and the transfer takes a pipe again when bytes arrive.
func TestDoubleSpliceIdleHoldsNoPipe(t *testing.T) {
	e, err := NewEngine(Config{ForcePoll: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	src, srcPeer, dst, dstPeer := idleEnds(t)
	base := openFDs(t)
	res := spliceAsync(context.Background(), e, dst, src)
	data := testData(4 << 20)
	for burst := 0; burst < 3; burst++ {
		back := drainN(dstPeer, len(data))
		if _, err := srcPeer.Write(data); err != nil {
			t.Fatal(err)
		}
		if got := <-back; got.err != nil || got.sum != dataSum(data) {
			t.Fatalf("burst %d: %d bytes arrived (%v), want the %d sent", burst, got.n, got.err, len(data))
		}
		// The transfer is idle now: waitFDs drains the pool each time
		// it counts, so only a pipe the transfer still held would show.
		waitFDs(t, "idle after a burst", base, nil)
	}
	srcPeer.CloseWrite()
	if r := <-res; r.err != nil || r.n != 3*int64(len(data)) {
		t.Fatalf("DoubleSplice = %d, %v; want %d, nil", r.n, r.err, 3*len(data))
	}
}

// drainN reads exactly n bytes from r in a goroutine and hashes them.
func drainN(r io.Reader, n int) <-chan hashResult {
	return drainAsync(io.LimitReader(r, int64(n)))
}

func TestForcePollFromEnv(t *testing.T) {
	t.Setenv(backendEnv, "poll")
	if !forcePollFromEnv() {
		t.Error("KPIPE_BACKEND=poll not seen")
	}
	t.Setenv(backendEnv, "io_uring")
	if forcePollFromEnv() || backendFromEnv() != BackendIOUring {
		t.Error("KPIPE_BACKEND=io_uring misread")
	}
}
