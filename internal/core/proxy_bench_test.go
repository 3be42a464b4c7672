//go:build linux && cgo

package core

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kpipe/kpipe/internal/testprog"
)

// BenchmarkProxy measures TCP proxies on loopback, side by side:
//
//	kpipeUring     Engine.Proxy on NewEngine(Config{Backend: BackendIOUring})
//	kpipeUring1M   the same with 1 MiB pipes (Config.PipeSize)
//	kpipePoll      Engine.Proxy on NewEngine(Config{ForcePoll: true})
//	iocopy         io.Copy both ways in two goroutines, with a CloseWrite
//	               at each direction's end: Go's own TCP-to-TCP splice
//	userspace64K   io.CopyBuffer both ways with a 64 KiB buffer and the
//	               ReaderFrom and WriterTo hidden: a read/write loop
//
// with 1, 16 and 256 client connections. Each operation opens that many
// connections through the proxy, pushes proxyBenchBytes in total over them
// (an equal share each) to a sink that discards what it reads, and waits
// until every connection has ended. The clients and the sink run in a child
// process (the test binary re-executed as TestProxyBenchPeer), so that the
// benchmark process holds only the proxy: the cpu-s/GiB metric is the
// process's user plus system CPU time (getrusage RUSAGE_SELF) per GiB moved
// through the proxy, and it includes connection set-up and teardown. MB/s
// is decimal, from b.SetBytes.
//
//	go test -run '^$' -bench BenchmarkProxy -benchtime=8x .
func BenchmarkProxy(b *testing.B) {
	for _, p := range proxyBenchProxies {
		for _, conns := range []int{1, 16, 256} {
			b.Run(fmt.Sprintf("%s/conns=%d", p.name, conns), func(b *testing.B) {
				benchProxy(b, p, conns)
			})
		}
	}
}

// proxyBenchBytes is what one operation of BenchmarkProxy moves, over all
// its connections: 128 MiB, so that -benchtime=8x moves 1 GiB.
const proxyBenchBytes = 128 << 20

// proxyBenchPeerEnv names the environment variable that turns the test
// binary into BenchmarkProxy's client-and-sink process.
const proxyBenchPeerEnv = "KPIPE_PROXY_BENCH_PEER"

// proxyBenchProxy is one proxy under test: how it moves one client
// connection's bytes to and from its upstream connection. It is set up once
// per sub-benchmark by start, which returns the proxy function and a
// clean-up.
type proxyBenchProxy struct {
	name  string
	start func(b *testing.B) (proxy func(client, upstream *net.TCPConn) error, stop func())
}

// proxyBenchProxies are the proxies BenchmarkProxy compares.
var proxyBenchProxies = []proxyBenchProxy{
	{"kpipeUring", func(b *testing.B) (func(c, u *net.TCPConn) error, func()) {
		return proxyBenchEngine(b, Config{Backend: BackendIOUring}, BackendIOUring)
	}},
	{"kpipeUring1M", func(b *testing.B) (func(c, u *net.TCPConn) error, func()) {
		return proxyBenchEngine(b, Config{Backend: BackendIOUring, PipeSize: 1 << 20}, BackendIOUring)
	}},
	{"kpipePoll", func(b *testing.B) (func(c, u *net.TCPConn) error, func()) {
		return proxyBenchEngine(b, Config{ForcePoll: true}, BackendPoll)
	}},
	{"iocopy", func(b *testing.B) (func(c, u *net.TCPConn) error, func()) {
		return func(c, u *net.TCPConn) error {
			return proxyBenchBothWays(c, u, func(dst, src *net.TCPConn) error {
				_, err := io.Copy(dst, src)
				return err
			})
		}, func() {}
	}},
	{"userspace64K", func(b *testing.B) (func(c, u *net.TCPConn) error, func()) {
		pool := sync.Pool{New: func() any { return new([64 << 10]byte) }}
		return func(c, u *net.TCPConn) error {
			return proxyBenchBothWays(c, u, func(dst, src *net.TCPConn) error {
				buf := pool.Get().(*[64 << 10]byte)
				defer pool.Put(buf)
				_, err := io.CopyBuffer(benchWriter{dst}, benchReader{src}, buf[:])
				return err
			})
		}, func() {}
	}},
}

// proxyBenchEngine returns a proxy function running on a new engine with
// cfg, skipping the benchmark when the engine's backend is not want.
func proxyBenchEngine(b *testing.B, cfg Config, want string) (func(c, u *net.TCPConn) error, func()) {
	e, err := NewEngine(cfg)
	if err != nil {
		b.Fatal(err)
	}
	if e.Backend() != want {
		e.Close()
		b.Skipf("backend %s is not available here (got %s)", want, e.Backend())
	}
	proxyBenchRings = e.rings
	return func(c, u *net.TCPConn) error {
		_, _, err := e.Proxy(context.Background(), c, u)
		return err
	}, func() { proxyBenchRings = nil; e.Close() }
}

// proxyBenchRings are the rings of the io_uring engine under measurement,
// whose counters BenchmarkProxy reports per GiB.
var proxyBenchRings []*ring

// proxyBenchRingStats sums the counters of proxyBenchRings.
func proxyBenchRingStats() (st ringStats) {
	for _, r := range proxyBenchRings {
		s := r.stats()
		st.polls += s.polls
		st.splices += s.splices
		st.eagain += s.eagain
		st.sqes += s.sqes
	}
	return st
}

// proxyBenchBothWays runs copy in both directions at once, half-closing each
// direction's destination at its end, and returns the first error.
func proxyBenchBothWays(c, u *net.TCPConn, copy func(dst, src *net.TCPConn) error) error {
	errc := make(chan error, 1)
	go func() {
		err := copy(c, u)
		if err == nil {
			err = c.CloseWrite()
		}
		errc <- err
	}()
	err := copy(u, c)
	if err == nil {
		err = u.CloseWrite()
	}
	return errors.Join(err, <-errc)
}

// benchProxy runs one sub-benchmark of BenchmarkProxy: proxy p with conns
// connections per operation.
func benchProxy(b *testing.B, p proxyBenchProxy, conns int) {
	proxy, stop := p.start(b)
	defer stop()
	peer := startProxyBenchPeer(b)
	defer peer.close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var errMu sync.Mutex
	var proxyErr error
	stopAccept := testprog.AcceptAll(ln, func(c net.Conn) {
		defer c.Close()
		u, err := net.Dial("tcp", peer.sink)
		if err == nil {
			err = proxy(c.(*net.TCPConn), u.(*net.TCPConn))
			u.Close()
		}
		if err != nil {
			errMu.Lock()
			proxyErr = errors.Join(proxyErr, err)
			errMu.Unlock()
		}
	})
	defer func() {
		stopAccept()
		if proxyErr != nil {
			b.Errorf("proxy: %v", proxyErr)
		}
	}()

	// One untimed round warms up the pools (pipes, goroutines, rings).
	peer.run(b, ln.Addr().String(), conns)
	b.SetBytes(proxyBenchBytes)
	b.ReportAllocs()
	b.ResetTimer()
	ru0, rs0 := proxyBenchUsage(b), proxyBenchRingStats()
	for i := 0; i < b.N; i++ {
		peer.run(b, ln.Addr().String(), conns)
	}
	b.StopTimer()
	ru := proxyBenchUsage(b)
	gib := float64(b.N) * proxyBenchBytes / (1 << 30)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
	b.ReportMetric(cpu.Seconds()/gib, "cpu-s/GiB")
	b.ReportMetric(float64(ru.Nvcsw+ru.Nivcsw-ru0.Nvcsw-ru0.Nivcsw)/gib, "ctxsw/GiB")
	if proxyBenchRings != nil {
		rs := proxyBenchRingStats()
		b.ReportMetric(float64(rs.splices-rs0.splices)/gib, "splices/GiB")
		b.ReportMetric(float64(rs.polls-rs0.polls)/gib, "polls/GiB")
		b.ReportMetric(float64(rs.eagain-rs0.eagain)/gib, "eagain/GiB")
	}
}

// proxyBenchUsage returns this process's resource usage: CPU time and
// context switches, its threads and io_uring workers included.
func proxyBenchUsage(b *testing.B) syscall.Rusage {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru
}

// proxyBenchPeer is the child process of a sub-benchmark: it runs the sink
// and, on request, the clients.
type proxyBenchPeer struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	sink string
}

// startProxyBenchPeer re-executes the test binary as the client-and-sink
// process and reads the sink's address from it.
func startProxyBenchPeer(b *testing.B) *proxyBenchPeer {
	cmd := exec.Command(os.Args[0], "-test.run=^TestProxyBenchPeer$", "-test.count=1", "-test.bench=^$")
	cmd.Env = append(os.Environ(), proxyBenchPeerEnv+"=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	p := &proxyBenchPeer{cmd: cmd, in: in, out: bufio.NewReader(out)}
	line, err := p.out.ReadString('\n')
	sink, ok := strings.CutPrefix(strings.TrimSpace(line), "sink ")
	if err != nil || !ok {
		p.close()
		b.Fatalf("peer process: first line %q, %v; want \"sink ADDR\"", line, err)
	}
	p.sink = sink
	return p
}

// run has the peer open conns connections to the proxy at addr, push
// proxyBenchBytes over them and wait until all have ended.
func (p *proxyBenchPeer) run(b *testing.B, addr string, conns int) {
	if _, err := fmt.Fprintf(p.in, "run %s %d %d\n", addr, conns, proxyBenchBytes); err != nil {
		b.Fatal(err)
	}
	line, err := p.out.ReadString('\n')
	if err != nil || line != "ok\n" {
		b.Fatalf("peer process: %q, %v; want \"ok\"", line, err)
	}
}

// close ends the peer process: it exits at the end of its input.
func (p *proxyBenchPeer) close() {
	p.in.Close()
	done := make(chan struct{})
	go func() {
		p.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

// TestProxyBenchPeer is not a test: it is BenchmarkProxy's child process,
// and skips unless started as one. It runs a sink that reads each
// connection to its end, discards the bytes, and closes the connection,
// prints "sink ADDR", and then, for each line "run ADDR CONNS BYTES" on its
// standard input, opens CONNS connections to ADDR, writes an equal share of
// BYTES on each, shuts each down, reads each to its end, and prints "ok"
// (or an error line). It exits at the end of its input.
func TestProxyBenchPeer(t *testing.T) {
	if os.Getenv(proxyBenchPeerEnv) != "1" {
		t.Skip("BenchmarkProxy's child process")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				io.Copy(io.Discard, c)
				c.Close()
			}()
		}
	}()
	fmt.Printf("sink %s\n", ln.Addr())
	buf := make([]byte, 256<<10)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) != 4 || f[0] != "run" {
			fmt.Printf("bad request %q\n", in.Text())
			continue
		}
		conns, _ := strconv.Atoi(f[2])
		total, _ := strconv.ParseInt(f[3], 10, 64)
		if err := proxyBenchClients(f[1], conns, total, buf); err != nil {
			fmt.Printf("error %v\n", strings.ReplaceAll(err.Error(), "\n", "; "))
			continue
		}
		fmt.Println("ok")
	}
}

// proxyBenchClients opens conns connections to addr at once and on each
// writes its share of total bytes from buf (read-only, shared), shuts it
// down, and reads it to its end.
func proxyBenchClients(addr string, conns int, total int64, buf []byte) error {
	var wg sync.WaitGroup
	errs := make([]error, conns)
	for i := 0; i < conns; i++ {
		share := total / int64(conns)
		if i == 0 {
			share += total % int64(conns)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = proxyBenchClient(addr, share, buf)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// proxyBenchClient is one connection of proxyBenchClients.
func proxyBenchClient(addr string, n int64, buf []byte) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	conn := c.(*net.TCPConn)
	for n > 0 {
		k := min(n, int64(len(buf)))
		if _, err := conn.Write(buf[:k]); err != nil {
			return err
		}
		n -= k
	}
	if err := conn.CloseWrite(); err != nil {
		return err
	}
	if rest, err := io.Copy(io.Discard, conn); err != nil || rest != 0 {
		return fmt.Errorf("after the upload: %d bytes back, %v; want none and the end", rest, err)
	}
	return nil
}
