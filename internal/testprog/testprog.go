// Package testprog holds what the tests of kpipe's programs (the kpipe
// command and the examples) share: running the test binary as the program
// itself, starting a server program and reading the line it announces
// itself with, running a server's accept loop in-process, and talking to
// servers with nc and with Go clients. AcceptAll, the accept loop of the
// tests' own servers, serves internal/core's tests too.
package testprog

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
	"testing"
	"time"

	"github.com/kpipe/kpipe/internal/accept"
)

// MainEnv, set to 1 in a child process's environment, makes a program's
// test binary run the program's main instead of the tests (see Main).
const MainEnv = "KPIPE_TESTPROG_RUN_MAIN"

// Main is the body of a program's TestMain: in a child process started by
// Command (MainEnv=1), it runs the program's main instead of the tests, so
// that the tests can run the real program without a second build.
func Main(m *testing.M, main func()) {
	if os.Getenv(MainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// Command returns the command that runs the test binary as the program
// (see Main) with args.
func Command(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), MainEnv+"=1")
	return cmd
}

// Run runs cmd and returns its standard output and error and its exit
// status. It fails the test if cmd cannot be run at all.
func Run(t testing.TB, cmd *exec.Cmd) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("%v: %v", cmd.Args, err)
	}
	return out.String(), errOut.String(), code
}

// SyncBuffer is a bytes.Buffer safe to write from a program's or a
// server's goroutines while the test reads it.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p under the lock.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Server is a server program running as a child process.
type Server struct {
	Cmd    *exec.Cmd
	First  string      // the first line it printed
	Stderr *SyncBuffer // what it printed on stderr so far
	done   chan error  // receives Cmd.Wait's result
}

// Start starts the server cmd and waits up to 30 seconds for the first line
// on its standard output, which must start with prefix; the rest of its
// output is discarded. The process is killed at the end of the test if
// still running.
func Start(t testing.TB, cmd *exec.Cmd, prefix string) *Server {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Cmd: cmd, Stderr: new(SyncBuffer), done: make(chan error, 1)}
	exited := make(chan struct{})
	cmd.Stderr = s.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		lines <- line
		io.Copy(io.Discard, r)
		s.done <- cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	select {
	case s.First = <-lines:
	case <-time.After(30 * time.Second):
		t.Fatalf("%v printed no line within 30s; stderr %q", cmd.Args, s.Stderr.String())
	}
	if !strings.HasPrefix(s.First, prefix) {
		t.Fatalf("%v: first line %q, want %q...; stderr %q", cmd.Args, s.First, prefix, s.Stderr.String())
	}
	return s
}

// Wait waits up to timeout for the server to exit and returns its exit
// status (-1: still running).
func (s *Server) Wait(t testing.TB, timeout time.Duration) int {
	t.Helper()
	select {
	case err := <-s.done:
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return exitErr.ExitCode()
		}
		if err != nil {
			t.Fatalf("wait: %v", err)
		}
		return 0
	case <-time.After(timeout):
		return -1
	}
}

// CheckQuiet fails the test if the server has written anything on stderr.
func (s *Server) CheckQuiet(t testing.TB) {
	t.Helper()
	if stderr := s.Stderr.String(); stderr != "" {
		t.Errorf("%v wrote to stderr: %q", s.Cmd.Args, stderr)
	}
}

// CheckBadAddress runs the program with -listen on an address that cannot
// be listened on and checks that it exits with status 1 and an error on
// stderr that starts with "NAME: " and names the address.
func CheckBadAddress(t testing.TB, name string) {
	t.Helper()
	stdout, stderr, code := Run(t, Command("-listen", "127.0.0.1:notaport"))
	if code != 1 {
		t.Fatalf("exit status %d, want 1; stdout %q, stderr %q", code, stdout, stderr)
	}
	if !strings.HasPrefix(stderr, name+": ") || !strings.Contains(stderr, "notaport") {
		t.Errorf("stderr %q, want a %s: error naming the address", stderr, name)
	}
}

// NeedNetcat returns the path of nc, failing the test when it is missing.
func NeedNetcat(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("nc")
	if err != nil {
		t.Fatalf("nc (netcat-openbsd) is not installed: run `make deps` (%v)", err)
	}
	return path
}

// Netcat runs `nc -N HOST PORT` with input on its standard input and
// returns what it printed.
func Netcat(t testing.TB, addr string, input []byte) []byte {
	t.Helper()
	nc := NeedNetcat(t)
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

// NetcatFoobar sends "foobar\n" to the echo at addr with nc, as the
// article does, and checks that it comes back.
func NetcatFoobar(t testing.TB, addr string) {
	t.Helper()
	if got := Netcat(t, addr, []byte("foobar\n")); string(got) != "foobar\n" {
		t.Errorf("nc to %s printed %q, want %q", addr, got, "foobar\n")
	}
}

// EchoClient sends payload on a new connection to addr while reading the
// echo, then shuts down its sending side, and returns the SHA-256 and size
// of what came back.
func EchoClient(addr string, payload []byte) (sum [32]byte, n int64, err error) {
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

// CheckEchoes runs clients Go clients at once against the echo server at
// addr, each sending its own size random bytes, and checks the size and
// SHA-256 of every echo.
func CheckEchoes(t testing.TB, addr string, clients, size int) {
	t.Helper()
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
			got, n, err := EchoClient(addr, payload)
			switch {
			case err != nil:
				t.Errorf("client %d: %v", i, err)
			case n != int64(size) || got != want:
				t.Errorf("client %d: echo has %d bytes, sha256 %x; want %d bytes, sha256 %x", i, n, got, size, want)
			}
		}(i)
	}
	wg.Wait()
}

// CheckEmptyEcho checks that a client of the echo server at addr that
// sends nothing gets an immediate end of stream.
func CheckEmptyEcho(t testing.TB, addr string) {
	t.Helper()
	sum, n, err := EchoClient(addr, nil)
	if err != nil || n != 0 || sum != sha256.Sum256(nil) {
		t.Errorf("empty echo: %d bytes, err %v; want 0 bytes and no error", n, err)
	}
}

// ServeInProcess runs serve, a program's accept loop, on a new listener on
// a free loopback port, in its own goroutine, with *logger, the program's
// logger, writing to a buffer with prefix instead, and returns the address.
// At the end of the test it closes the listener, fails the test if serve
// does not return nil within 10 seconds (a connection that never ends),
// puts *logger back and fails the test if anything was logged.
func ServeInProcess(t testing.TB, logger **log.Logger, prefix string, serve func(net.Listener) error) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := new(SyncBuffer)
	saved := *logger
	*logger = log.New(logs, prefix, 0)
	done := make(chan error, 1)
	go func() { done <- serve(ln) }()
	t.Cleanup(func() {
		ln.Close()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve returned %v, want nil after the listener closed", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("serve did not return within 10s of the listener closing: a connection is stuck")
			return // leave the logger alone: the server still runs
		}
		*logger = saved
		if out := logs.String(); out != "" {
			t.Errorf("the server logged errors:\n%s", out)
		}
	})
	return ln.Addr().String()
}

// AcceptAll accepts connections on ln until it is closed and runs handle
// for each in its own goroutine, with kpipe's accept loop: a transient
// Accept failure (EMFILE, ...) is logged on the standard logger and retried
// after a pause of up to a second, any other ends the loop. The function
// it returns closes ln and waits until every handler has returned; it may
// be called more than once.
func AcceptAll(ln net.Listener, handle func(net.Conn)) (stop func()) {
	var l accept.Loop
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.Run(ln, handle)
	}()
	return sync.OnceFunc(func() {
		ln.Close()
		<-done
		l.Wait()
	})
}

// TCPListener listens on a loopback port for the length of the test.
func TCPListener(t testing.TB) *net.TCPListener {
	t.Helper()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// TCPPairOn connects a client to ln and returns both ends of the connection.
func TCPPairOn(t testing.TB, ln *net.TCPListener) (client, server *net.TCPConn) {
	t.Helper()
	client, err := net.DialTCP("tcp", nil, ln.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err = ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	return client, server
}

// TCPPair returns both ends of a fresh loopback TCP connection.
func TCPPair(t testing.TB) (client, server *net.TCPConn) {
	t.Helper()
	ln := TCPListener(t)
	client, server = TCPPairOn(t, ln)
	ln.Close()
	return client, server
}

// WriteFileAt writes data to the file at path with the permissions perm
// and sets its access and modification times to mtime.
func WriteFileAt(t testing.TB, path string, data []byte, perm os.FileMode, mtime time.Time) {
	t.Helper()
	if err := os.WriteFile(path, data, perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}
