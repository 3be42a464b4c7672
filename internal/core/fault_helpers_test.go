//go:build linux

package core

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Helpers of the fault-injection tests: re-running a test in a child
// process (for process-wide faults: resource limits, seccomp filters,
// credentials, signals) and reading the process's memory and thread counts.

// faultChildEnv names the test that a re-executed test binary runs as the
// child of that same test.
const faultChildEnv = "KPIPE_FAULT_CHILD"

// inFaultChild reports whether this process is the child started by
// runFaultChild for t.
func inFaultChild(t *testing.T) bool {
	return os.Getenv(faultChildEnv) == t.Name()
}

// childEnv returns the environment with the variables of extra ("K=V")
// replacing those of the same name.
func childEnv(extra ...string) []string {
	drop := map[string]bool{}
	for _, kv := range extra {
		k, _, _ := strings.Cut(kv, "=")
		drop[k] = true
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// faultChild describes how runFaultChild starts the child.
type faultChild struct {
	binary string               // the test binary; os.Args[0] when empty
	dir    string               // its working directory; ours when empty
	env    []string             // "K=V" added to the environment
	attr   *syscall.SysProcAttr // credentials and the like
}

// runFaultChild runs t again in a child process (the test binary with
// -test.run selecting t alone and faultChildEnv naming it) and fails t
// unless the child ran t, passed, and exited with status 0: a child killed
// by a signal (SIGPIPE, ...) fails the test. It returns the child's output.
func runFaultChild(t *testing.T, c faultChild) string {
	t.Helper()
	bin := c.binary
	if bin == "" {
		bin = os.Args[0]
	}
	cmd := exec.Command(bin, "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v", "-test.timeout=10m")
	cmd.Env = childEnv(append([]string{faultChildEnv + "=" + t.Name()}, c.env...)...)
	cmd.SysProcAttr = c.attr
	cmd.Dir = c.dir
	out, err := cmd.CombinedOutput()
	t.Logf("child output:\n%s", out)
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				t.Fatalf("the child died of signal %v", ws.Signal())
			}
		}
		t.Fatalf("the child failed: %v", err)
	}
	if !bytes.Contains(out, []byte("--- PASS: "+t.Name()+" ")) {
		t.Fatalf("the child did not report %s as passed", t.Name())
	}
	return string(out)
}

// procStatusField returns a field of /proc/self/status as a number (VmRSS
// in KiB, Threads, ...).
func procStatusField(field string) (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && k == field {
			v = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB"))
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/self/status has no %s", field)
}

// procStatus is procStatusField failing t on error.
func procStatus(t testing.TB, field string) int64 {
	t.Helper()
	n, err := procStatusField(field)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// rssBytes returns the process's resident set size.
func rssBytes(t testing.TB) int64 { return procStatus(t, "VmRSS") << 10 }

// lazySource generates size bytes of deterministic data on demand, block
// after block, without ever holding more than one block: every block is
// the same noise with its sequence number in its first 8 bytes. It hashes
// what it hands out, and counts it in sent.
type lazySource struct {
	size  int64
	block []byte
	off   int64 // offset in the stream
	sent  atomic.Int64
	hash  [sha256.Size]byte // valid once off == size
	h     hash.Hash
}

const lazyBlock = 256 << 10

func newLazySource(size int64) *lazySource {
	s := &lazySource{size: size, block: bytes.Clone(testData(lazyBlock)), h: sha256.New()}
	return s
}

// Read hands out the next bytes of the stream.
func (s *lazySource) Read(b []byte) (int, error) {
	if s.off >= s.size {
		return 0, io.EOF
	}
	in := int(s.off % lazyBlock)
	if in == 0 {
		binary.LittleEndian.PutUint64(s.block, uint64(s.off/lazyBlock))
	}
	n := copy(b, s.block[in:min(int64(lazyBlock), int64(in)+s.size-s.off)])
	s.h.Write(b[:n])
	s.off += int64(n)
	s.sent.Add(int64(n))
	if s.off == s.size {
		copy(s.hash[:], s.h.Sum(nil))
	}
	return n, nil
}

// waitStalled waits until counter has stopped moving (for 300 ms in a row)
// and returns its value; it fails t if it still moves after a minute.
func waitStalled(t *testing.T, counter func() int64) int64 {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	last, still := counter(), 0
	for still < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("the transfer never stalled: %d bytes and counting", last)
		}
		time.Sleep(100 * time.Millisecond)
		if n := counter(); n != last || n == 0 {
			last, still = n, 0
			continue
		}
		still++
	}
	return last
}

// proxyFunc is Proxy, package-level or an Engine's.
type proxyFunc func(ctx context.Context, a, b io.ReadWriter) (int64, int64, error)

// checkProxy runs proxy between two loopback connections with sizeAB bytes
// going one way and sizeBA the other, and checks the counts, the hashes
// of what arrived, and that proxy returned without error.
func checkProxy(t *testing.T, proxy proxyFunc, sizeAB, sizeBA int) {
	t.Helper()
	aPeer, a := tcpPair(t)
	b, bPeer := tcpPair(t)
	ab, ba := testData(sizeAB), testData(sizeBA)
	type result struct {
		x, y int64
		err  error
	}
	done := make(chan result, 1)
	go func() {
		x, y, err := proxy(context.Background(), a, b)
		done <- result{x, y, err}
	}()
	atB, atA := drainAsync(bPeer), drainAsync(aPeer)
	waitA := feedAsync(t, aPeer, ab, func() { aPeer.CloseWrite() }, func() { aPeer.Close() })
	waitB := feedAsync(t, bPeer, ba, func() { bPeer.CloseWrite() }, func() { bPeer.Close() })
	if err := waitA(); err != nil {
		t.Fatal(err)
	}
	if err := waitB(); err != nil {
		t.Fatal(err)
	}
	checkArrived(t, <-atB, ab)
	checkArrived(t, <-atA, ba)
	r := <-done
	if r.err != nil || r.x != int64(sizeAB) || r.y != int64(sizeBA) {
		t.Fatalf("Proxy = %d, %d, %v; want %d, %d, nil", r.x, r.y, r.err, sizeAB, sizeBA)
	}
}

// doubleSpliceFunc is DoubleSplice, package-level or an Engine's.
type doubleSpliceFunc func(ctx context.Context, dst io.Writer, src io.Reader) (int64, error)

// checkDoubleSplice runs ds from a file of size bytes into a loopback
// connection and checks what arrived.
func checkDoubleSplice(t *testing.T, ds doubleSpliceFunc, size int) {
	t.Helper()
	data := testData(size)
	dst, peer := tcpPair(t)
	arrived := drainAsync(peer)
	n, err := ds(context.Background(), dst, tempFileWith(t, data))
	if err != nil || n != int64(size) {
		t.Fatalf("DoubleSplice = %d, %v; want %d, nil", n, err, size)
	}
	dst.CloseWrite()
	checkArrived(t, <-arrived, data)
}
