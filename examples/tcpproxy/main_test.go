package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"log"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kpipe/kpipe"
)

// runMainEnv makes the test binary behave as the tcpproxy command, so that
// the tests can run the real program as a child process.
const runMainEnv = "KPIPE_TCPPROXY_RUN_MAIN"

// TestMain runs main instead of the tests when the process is a child
// started by TestProgram.
func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p under the lock.
func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// logMu serializes the tests' swaps of the package's logger.
var logMu sync.Mutex

// startEcho runs a plain echo server on a free loopback port: every
// connection gets back what it sends (io.Copy, which splices between TCP
// sockets), then a FIN. It returns the address; the server stops at the end
// of the test.
func startEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				if _, err := io.Copy(c, c); err == nil {
					c.(*net.TCPConn).CloseWrite()
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

// engineCase is one way of running the proxy: the package's default engine
// (nil), or an engine of its own.
type engineCase struct {
	name string
	cfg  *kpipe.Config
}

// engineCases are the engines every in-process test runs on. "default" is
// kpipe.Proxy itself (the poll backend; io_uring with
// KPIPE_BACKEND=io_uring); "io_uring" asks for io_uring (which falls back
// to poll where the kernel refuses it or KPIPE_BACKEND=poll is set); "poll"
// forces the poll backend whatever the environment says.
var engineCases = []engineCase{
	{"default", nil},
	{"io_uring", &kpipe.Config{Backend: kpipe.BackendIOUring}},
	{"poll", &kpipe.Config{ForcePoll: true}},
}

// forEngines runs f as a subtest for each engine case, with a proxy to a
// fresh echo server listening at addr.
func forEngines(t *testing.T, f func(t *testing.T, addr string)) {
	for _, ec := range engineCases {
		t.Run(ec.name, func(t *testing.T) {
			var e *kpipe.Engine
			if ec.cfg != nil {
				var err error
				if e, err = kpipe.NewEngine(*ec.cfg); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { e.Close() })
				t.Logf("backend %s", e.Backend())
				// io_uring where it was asked for, unless the run says it is
				// refused on purpose (make test-nouring) or forces poll.
				if ec.name == "io_uring" && e.Backend() != kpipe.BackendIOUring &&
					os.Getenv("KPIPE_TEST_NO_IOURING") != "1" && os.Getenv("KPIPE_BACKEND") != kpipe.BackendPoll &&
					kpipe.Implementation() == kpipe.ImplLinuxCgo {
					t.Fatalf("asked for io_uring, got %s", e.Backend())
				}
			} else {
				t.Logf("backend %s (default engine)", kpipe.DefaultBackend())
			}
			f(t, startProxy(t, startEcho(t), e))
		})
	}
}

// startProxy runs serve in-process on a free loopback port, proxying to
// upstream with engine e, and returns its address. At the end of the test it
// closes the listener and fails the test if serve does not return nil within
// a few seconds (a connection that never ends) or if the proxy logged
// anything. Cleanups run last-in first-out, so the proxy stops before the
// echo server and the engine.
func startProxy(t *testing.T, upstream string, e *kpipe.Engine) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logMu.Lock()
	logs := new(syncBuffer)
	saved := logger
	logger = log.New(logs, "tcpproxy: ", 0)
	done := make(chan error, 1)
	go func() { done <- serve(ln, upstream, e) }()
	t.Cleanup(func() {
		defer logMu.Unlock()
		ln.Close()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve returned %v, want nil after the listener closed", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("serve did not return within 10s of the listener closing: a connection is stuck")
			return // leave logger alone: the proxy still runs
		}
		logger = saved
		if out := logs.String(); out != "" {
			t.Errorf("proxy logged errors:\n%s", out)
		}
	})
	return ln.Addr().String()
}

// needNetcat returns the path of nc, failing the test when it is missing.
func needNetcat(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("nc")
	if err != nil {
		t.Fatalf("nc (netcat-openbsd) is not installed: run `make deps` (%v)", err)
	}
	return path
}

// netcat runs `nc -N HOST PORT` with input on its standard input and
// returns what it printed.
func netcat(t *testing.T, addr string, input []byte) []byte {
	t.Helper()
	nc := needNetcat(t)
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, nc, "-N", host, port)
	cmd.Stdin = bytes.NewReader(input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nc -N %s %s: %v (stderr %q)", host, port, err, stderr.String())
	}
	return out
}

// TestNetcat runs the article's `echo foobar | nc -N 127.0.0.1 PORT`
// through the proxy to an echo server and expects "foobar\n" back.
func TestNetcat(t *testing.T) {
	forEngines(t, func(t *testing.T, addr string) {
		if got := netcat(t, addr, []byte("foobar\n")); string(got) != "foobar\n" {
			t.Errorf("nc printed %q, want %q", got, "foobar\n")
		}
	})
}

// echoClient sends payload on a new connection to addr while reading the
// echo, then shuts down its sending side, and returns the SHA-256 and size of
// what came back.
func echoClient(addr string, payload []byte) (sum [32]byte, n int64, err error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return sum, 0, err
	}
	conn := c.(*net.TCPConn)
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(60 * time.Second)); err != nil {
		return sum, 0, err
	}
	werr := make(chan error, 1)
	go func() {
		_, err := conn.Write(payload)
		if err == nil {
			err = conn.CloseWrite()
		}
		werr <- err
	}()
	h := sha256.New()
	n, rerr := io.Copy(h, conn)
	if err := errors.Join(<-werr, rerr); err != nil {
		return sum, n, err
	}
	h.Sum(sum[:0])
	return sum, n, nil
}

// TestConcurrentClients runs a few Go clients at once through the proxy,
// each sending its own 4 MiB of random bytes, and checks every echo's size
// and SHA-256.
func TestConcurrentClients(t *testing.T) {
	forEngines(t, func(t *testing.T, addr string) {
		const clients, size = 4, 4 << 20
		var wg sync.WaitGroup
		for i := 0; i < clients; i++ {
			payload := make([]byte, size)
			if _, err := rand.Read(payload); err != nil {
				t.Fatal(err)
			}
			want := sha256.Sum256(payload)
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				got, n, err := echoClient(addr, payload)
				switch {
				case err != nil:
					t.Errorf("client %d: %v", i, err)
				case n != size || got != want:
					t.Errorf("client %d: echo has %d bytes, sha256 %x; want %d bytes, sha256 %x", i, n, got, size, want)
				}
			}(i)
		}
		wg.Wait()
	})
}

// TestEmptyConnection checks that a client that sends nothing gets an
// immediate end of stream through the proxy.
func TestEmptyConnection(t *testing.T) {
	forEngines(t, func(t *testing.T, addr string) {
		sum, n, err := echoClient(addr, nil)
		if err != nil || n != 0 || sum != sha256.Sum256(nil) {
			t.Errorf("empty echo: %d bytes, err %v; want 0 bytes and no error", n, err)
		}
	})
}

// TestUpstreamDown checks that a connection whose upstream refuses it is
// closed and logged, and that the proxy keeps serving.
func TestUpstreamDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	pln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logMu.Lock()
	defer logMu.Unlock()
	logs := new(syncBuffer)
	saved := logger
	logger = log.New(logs, "tcpproxy: ", 0)
	defer func() { logger = saved }()
	done := make(chan error, 1)
	go func() { done <- serve(pln, dead, nil) }()
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", pln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		// The proxy closes the connection: end of input (or a reset), not
		// the deadline, which only keeps a broken proxy from hanging the
		// test.
		c.SetDeadline(time.Now().Add(30 * time.Second))
		if b, err := io.ReadAll(c); err != nil && !errors.Is(err, syscall.ECONNRESET) || len(b) != 0 {
			t.Errorf("read from a proxied connection with no upstream: %q, %v; want the connection closed", b, err)
		}
		c.Close()
	}
	pln.Close()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
	if out := logs.String(); strings.Count(out, "dial upstream") != 2 {
		t.Errorf("log %q, want two dial upstream errors", out)
	}
}

// TestProgram runs the command as its own process, with the default engine
// (poll), then with KPIPE_BACKEND=io_uring, in front of an echo server,
// reads the address it announces and talks to it with the real nc.
func TestProgram(t *testing.T) {
	for _, backend := range []string{"", "io_uring"} {
		name := backend
		if name == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) {
			needNetcat(t)
			upstream := startEcho(t)
			cmd := exec.Command(os.Args[0], "-listen", "127.0.0.1:0", "-to", upstream)
			cmd.Env = append(os.Environ(), runMainEnv+"=1", "KPIPE_BACKEND="+backend)
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr syncBuffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				cmd.Process.Kill()
				cmd.Wait()
			}()
			lineCh := make(chan string, 1)
			go func() {
				line, _ := bufio.NewReader(stdout).ReadString('\n')
				lineCh <- line
			}()
			var line string
			select {
			case line = <-lineCh:
			case <-time.After(30 * time.Second):
				t.Fatalf("the program announced no address within 30s; stderr %q", stderr.String())
			}
			rest, ok := strings.CutPrefix(line, "Proxying ")
			addr, _, ok2 := strings.Cut(rest, " to ")
			if !ok || !ok2 {
				t.Fatalf("first line %q, want \"Proxying ADDR to UPSTREAM...\"; stderr %q", line, stderr.String())
			}
			if got := netcat(t, addr, []byte("foobar\n")); string(got) != "foobar\n" {
				t.Errorf("nc printed %q, want %q", got, "foobar\n")
			}
			if s := stderr.String(); s != "" {
				t.Errorf("the program wrote to stderr: %q", s)
			}
		})
	}
}

// TestProgramBadAddress checks that an address that cannot be listened on
// is reported on stderr with a non-zero exit.
func TestProgramBadAddress(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-listen", "127.0.0.1:notaport")
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1; output %q", err, out)
	}
	if !strings.HasPrefix(string(out), "tcpproxy: ") || !strings.Contains(string(out), "notaport") {
		t.Errorf("output %q, want a tcpproxy: error naming the address", out)
	}
}
