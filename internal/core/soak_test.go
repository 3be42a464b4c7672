//go:build linux

package core

import (
	"context"
	"fmt"
	"math/rand"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kpipe/kpipe/internal/testprog"
)

// soakEnv sets the soak's length (a Go duration); the default is
// soakDefault. The time is shared between the default engine and an
// engine asked for io_uring.
const (
	soakEnv     = "KPIPE_SOAK"
	soakDefault = 10 * time.Second
	soakShort   = 4 * time.Second // with -short
	soakConns   = 1000
)

// soakSizes are the transfer sizes the soak's clients pick from: bytes to
// MiBs.
var soakSizes = []int{1, 17, 1000, 4096, 65_535, 65_536, 200_001, 1 << 20, 3<<20 + 5}

func soakDuration(t *testing.T) time.Duration {
	v := os.Getenv(soakEnv)
	if v == "" && testing.Short() {
		return soakShort
	}
	if v == "" {
		return soakDefault
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: want a positive duration such as 5m", soakEnv, v)
	}
	return d
}

// soakEcho is an echo server that copies through a small buffer and closes
// each connection once it has echoed all of it, so that a long soak does
// not accumulate descriptors.
func soakEcho(t *testing.T) *net.TCPAddr {
	ln := tcpListener(t)
	t.Cleanup(testprog.AcceptAll(ln, func(c net.Conn) {
		defer c.Close()
		echoBuffered(c.(*net.TCPConn))
	}))
	return ln.Addr().(*net.TCPAddr)
}

// soakProxy serves connections with proxy toward upstream and checks every
// Proxy result: no error, and as many bytes back as forth (the upstream
// echoes). It returns the address and a function that waits for every
// Proxy call to return and reports how many there were.
func soakProxy(t *testing.T, proxy proxyFunc, upstream *net.TCPAddr) (*net.TCPAddr, func() int64) {
	ln := tcpListener(t)
	var calls, failures atomic.Int64
	var mu sync.Mutex
	var firstErr string
	fail := func(format string, args ...any) {
		if failures.Add(1) == 1 {
			mu.Lock()
			firstErr = fmt.Sprintf(format, args...)
			mu.Unlock()
		}
	}
	stop := testprog.AcceptAll(ln, func(c net.Conn) {
		a := c.(*net.TCPConn)
		defer a.Close()
		b, err := net.DialTCP("tcp", nil, upstream)
		if err != nil {
			fail("dial upstream: %v", err)
			return
		}
		defer b.Close()
		x, y, err := proxy(context.Background(), a, b)
		calls.Add(1)
		if err != nil || x != y {
			fail("Proxy = %d, %d, %v; want equal counts and no error", x, y, err)
		}
	})
	done := false
	wait := func() int64 {
		if !done {
			done = true
			stop()
			if n := failures.Load(); n > 0 {
				t.Errorf("%d proxied connections failed; the first: %s", n, firstErr)
			}
		}
		return calls.Load()
	}
	t.Cleanup(func() { wait() })
	return ln.Addr().(*net.TCPAddr), wait
}

// goThreads counts the process's threads other than io_uring's kernel
// workers (iou-wrk-*, which come and go with the load), and those workers.
// It runs on the sampling goroutine: -1s when /proc cannot be read.
func goThreads() (threads, workers int) {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return -1, -1
	}
	for _, e := range ents {
		comm, err := os.ReadFile("/proc/self/task/" + e.Name() + "/comm")
		if err != nil {
			continue // the thread has exited
		}
		if strings.HasPrefix(string(comm), "iou-wrk") {
			workers++
		} else {
			threads++
		}
	}
	return threads, workers
}

// soakSample is one sample of the process's descriptors and threads.
type soakSample struct {
	fds, threads, workers int
}

// TestSoakProxy runs a proxy in front of an echo server under 1,000
// concurrent clients for KPIPE_SOAK (default 10s, 4s with -short), half of it with the
// package's Proxy on the default engine and half on an engine asked for
// io_uring. Each client sends transfers of mixed sizes (1 byte to 3 MiB)
// and checks the SHA-256 of what comes back, which went through the proxy
// both ways; every Proxy call must end without error with equal counts.
// Descriptors and threads are sampled every second: at the end the
// descriptors and goroutines are back to their counts before the soak, and
// the threads (io_uring's kernel workers aside) never came near one per
// connection.
func TestSoakProxy(t *testing.T) {
	total := soakDuration(t)
	requireIOUring(t)
	eU, err := NewEngine(Config{Backend: BackendIOUring})
	if err != nil {
		t.Fatal(err)
	}
	defer eU.Close()
	// The package's Proxy runs on the default engine, whose rings (with
	// KPIPE_BACKEND=io_uring) keep pipes for reuse as eU's do.
	def, err := getDefaultEngine()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		proxy proxyFunc
		e     *Engine
	}{{"default-" + def.Backend(), Proxy, def}, {eU.Backend(), eU.Proxy, eU}} {
		t.Run(c.name, func(t *testing.T) { soak(t, c.proxy, c.e, total/2) })
	}
}

func soak(t *testing.T, proxy proxyFunc, e *Engine, length time.Duration) {
	upstream := soakEcho(t)
	addr, waitProxies := soakProxy(t, proxy, upstream)
	for _, size := range soakSizes {
		dataSum(testData(size)) // generated and hashed before the clock starts
	}
	baseFDs := openFDs(t)
	baseGoroutines := runtime.NumGoroutine()

	var samples []soakSample
	var smu sync.Mutex
	sample := func() {
		th, wk := goThreads()
		fds, err := os.ReadDir("/proc/self/fd")
		s := soakSample{len(fds), th, wk}
		if err != nil {
			s.fds = -1
		}
		smu.Lock()
		samples = append(samples, s)
		smu.Unlock()
	}
	sample()
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-tick.C:
				sample()
			}
		}
	}()

	deadline := time.Now().Add(length)
	var transfers, bytes, failures atomic.Int64
	var firstErr atomic.Value
	fail := func(err error) {
		if failures.Add(1) == 1 {
			firstErr.Store(err)
		}
	}
	var wg sync.WaitGroup
	for i := 0; i < soakConns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(i)))
			for time.Now().Before(deadline) && failures.Load() == 0 {
				data := testData(soakSizes[rng.Intn(len(soakSizes))])
				c, err := net.DialTCP("tcp", nil, addr)
				if err != nil {
					fail(fmt.Errorf("dial: %v", err))
					return
				}
				c.SetDeadline(time.Now().Add(2 * time.Minute))
				got, err := echoThrough(c, data)
				c.Close()
				switch {
				case err != nil:
					fail(fmt.Errorf("%d bytes: write: %v", len(data), err))
				case got.err != nil || got.n != int64(len(data)):
					fail(fmt.Errorf("%d bytes: read back %d (%v)", len(data), got.n, got.err))
				case got.sum != dataSum(data):
					fail(fmt.Errorf("%d bytes: read back sha256 %s, want %s", len(data), sumString(got.sum), sumString(dataSum(data))))
				default:
					transfers.Add(1)
					bytes.Add(int64(len(data)))
				}
			}
		}()
	}
	wg.Wait()
	calls := waitProxies()
	close(stopSampling)
	<-sampled
	sample()
	if n := failures.Load(); n > 0 {
		t.Fatalf("%d of the clients' transfers failed; the first: %v", n, firstErr.Load())
	}
	if transfers.Load() == 0 || calls != transfers.Load() {
		t.Fatalf("%d transfers checked, %d Proxy calls: want as many, and some", transfers.Load(), calls)
	}
	t.Logf("%d transfers, %.1f MiB each way, in %v", transfers.Load(), float64(bytes.Load())/(1<<20), length)

	var line strings.Builder
	for _, s := range samples {
		fmt.Fprintf(&line, " %d/%d+%d", s.fds, s.threads, s.workers)
	}
	t.Logf("samples (fds/threads+iou-wrk), one a second: %s", line.String())

	// Descriptors: back to the start (the io_uring rings keep a few pipes).
	var extra func() int
	if e != nil {
		extra = func() int { return 2 * e.pooledPipes() }
	}
	waitFDs(t, "after the soak", baseFDs, extra)

	// Goroutines: back to the start once the proxies' have returned. A
	// leaked transfer keeps its goroutine.
	waitGoroutines(t, "after the soak", baseGoroutines)

	// Threads: no thread per connection (Go keeps the threads it made, so
	// only the peak says anything). A backend that waited on a thread per
	// transfer would have soakConns or more.
	peak := 0
	for _, s := range samples {
		peak = max(peak, s.threads)
	}
	if peak >= soakConns/2 {
		t.Errorf("%d threads at the peak for %d connections: a thread per transfer?", peak, soakConns)
	}
}

// waitGoroutines waits until the goroutine count is back to base (a few
// of the runtime's and net/http's may come and go), failing after a while.
func waitGoroutines(t *testing.T, when string, base int) {
	t.Helper()
	const slack = 2
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(10 * time.Second); n > base+slack && time.Now().Before(deadline); n = runtime.NumGoroutine() {
		time.Sleep(20 * time.Millisecond)
	}
	if n > base+slack {
		buf := make([]byte, 1<<20)
		t.Fatalf("%s: %d goroutines, %d before:\n%s", when, n, base, buf[:runtime.Stack(buf, true)])
	}
}
