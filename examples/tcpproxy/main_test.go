package main

import (
	"errors"
	"io"
	"log"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kpipe/kpipe"
	"github.com/kpipe/kpipe/internal/testprog"
)

// TestMain runs main instead of the tests when the process is a child
// started by TestProgram.
func TestMain(m *testing.M) { testprog.Main(m, main) }

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
	t.Cleanup(testprog.AcceptAll(ln, func(c net.Conn) {
		defer c.Close()
		if _, err := io.Copy(c, c); err == nil {
			c.(*net.TCPConn).CloseWrite()
		}
	}))
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
	logMu.Lock()
	t.Cleanup(logMu.Unlock)
	return testprog.ServeInProcess(t, &logger, "tcpproxy: ", func(ln net.Listener) error { return serve(ln, upstream, e) })
}

// TestNetcat runs the article's `echo foobar | nc -N 127.0.0.1 PORT`
// through the proxy to an echo server and expects "foobar\n" back.
func TestNetcat(t *testing.T) {
	forEngines(t, func(t *testing.T, addr string) {
		testprog.NetcatFoobar(t, addr)
	})
}

// TestConcurrentClients runs a few Go clients at once through the proxy,
// each sending its own 4 MiB of random bytes, and checks every echo's size
// and SHA-256.
func TestConcurrentClients(t *testing.T) {
	forEngines(t, func(t *testing.T, addr string) {
		testprog.CheckEchoes(t, addr, 4, 4<<20)
	})
}

// TestEmptyConnection checks that a client that sends nothing gets an
// immediate end of stream through the proxy.
func TestEmptyConnection(t *testing.T) {
	forEngines(t, func(t *testing.T, addr string) {
		testprog.CheckEmptyEcho(t, addr)
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
	logs := new(testprog.SyncBuffer)
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
			testprog.NeedNetcat(t)
			cmd := testprog.Command("-listen", "127.0.0.1:0", "-to", startEcho(t))
			cmd.Env = append(cmd.Env, "KPIPE_BACKEND="+backend)
			s := testprog.Start(t, cmd, "Proxying ")
			addr, _, ok := strings.Cut(strings.TrimPrefix(s.First, "Proxying "), " to ")
			if !ok {
				t.Fatalf("first line %q, want \"Proxying ADDR to UPSTREAM...\"", s.First)
			}
			testprog.NetcatFoobar(t, addr)
			s.CheckQuiet(t)
		})
	}
}

// TestProgramBadAddress checks that an address that cannot be listened on
// is reported on stderr with a non-zero exit.
func TestProgramBadAddress(t *testing.T) {
	testprog.CheckBadAddress(t, "tcpproxy")
}
