package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// runMainEnv makes the test binary behave as the echo command, so that the
// tests can run the real program as a child process.
const runMainEnv = "KPIPE_ECHO_RUN_MAIN"

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

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// modes are the values of -mode, in the order the tests run them.
var modes = []string{"double", "splice"}

// forModes runs f as a subtest for each echo mode.
func forModes(t *testing.T, f func(t *testing.T, mode string)) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) { f(t, mode) })
	}
}

// startServer runs serve in-process with the handler of mode on a free
// loopback port and returns the address. At the end of the test it closes the listener and fails the test
// if serve does not return nil within a few seconds (a connection handler
// that never ends) or if the server logged anything while wantLog is false.
func startServer(t *testing.T, wantLog bool, mode string) string {
	t.Helper()
	h, ok := handlers[mode]
	if !ok {
		t.Fatalf("no echo mode %q", mode)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := new(syncBuffer)
	saved := logger
	logger = log.New(logs, "echo: ", 0)
	done := make(chan error, 1)
	go func() { done <- serve(ln, h) }()
	t.Cleanup(func() {
		ln.Close()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve returned %v, want nil after the listener closed", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("serve did not return within 10s of the listener closing: a connection handler is stuck")
			return // leave logger alone: the server still runs
		}
		logger = saved
		if out := logs.String(); !wantLog && out != "" {
			t.Errorf("server logged errors:\n%s", out)
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

// TestNetcat sends "foobar\n" with the real nc, as in the article, and
// expects it back, in both modes.
func TestNetcat(t *testing.T) {
	forModes(t, func(t *testing.T, mode string) {
		addr := startServer(t, false, mode)
		if got := netcat(t, addr, []byte("foobar\n")); string(got) != "foobar\n" {
			t.Errorf("nc printed %q, want %q", got, "foobar\n")
		}
	})
}

// TestNetcatLarge sends more than a pipe and a socket buffer hold through
// nc and checks the echo byte for byte.
func TestNetcatLarge(t *testing.T) {
	forModes(t, func(t *testing.T, mode string) {
		addr := startServer(t, false, mode)
		input := make([]byte, 3<<20+5)
		if _, err := rand.Read(input); err != nil {
			t.Fatal(err)
		}
		got := netcat(t, addr, input)
		if !bytes.Equal(got, input) {
			t.Errorf("nc printed %d bytes (sha256 %x), want the %d bytes sent (sha256 %x)",
				len(got), sha256.Sum256(got), len(input), sha256.Sum256(input))
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

// TestConcurrentClients runs several Go clients at once, each sending its
// own 4 MiB of random bytes, and checks every echo's SHA-256.
func TestConcurrentClients(t *testing.T) {
	forModes(t, func(t *testing.T, mode string) {
		addr := startServer(t, false, mode)
		const clients, size = 8, 4 << 20
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
// immediate end of stream.
func TestEmptyConnection(t *testing.T) {
	forModes(t, func(t *testing.T, mode string) {
		addr := startServer(t, false, mode)
		sum, n, err := echoClient(addr, nil)
		if err != nil || n != 0 || sum != sha256.Sum256(nil) {
			t.Errorf("empty echo: %d bytes, err %v; want 0 bytes and no error", n, err)
		}
	})
}

// TestClientGoesAway checks that the server ends a connection whose client
// stops reading, fills every buffer on the way and then disconnects: the
// handler must not stay blocked on the full pipe (startServer's clean-up
// fails the test if it does), and a client going away is not logged.
func TestClientGoesAway(t *testing.T) {
	forModes(t, func(t *testing.T, mode string) {
		addr := startServer(t, false, mode)
		for i := 0; i < 3; i++ {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			// Write until the server stops taking data: our receive buffer,
			// the server's pipe and both socket buffers are then full.
			if err := c.SetWriteDeadline(time.Now().Add(300 * time.Millisecond)); err != nil {
				t.Fatal(err)
			}
			chunk := make([]byte, 1<<20)
			var sent int
			for {
				n, err := c.Write(chunk)
				sent += n
				if err != nil {
					if !errors.Is(err, os.ErrDeadlineExceeded) {
						t.Fatalf("write: %v", err)
					}
					break
				}
				if sent > 1<<30 {
					t.Fatal("the server took 1 GiB without the client reading any echo")
				}
			}
			// Unread data in our receive buffer: Close sends a reset.
			c.Close()
		}
	})
}

// TestHalfCloseOrder checks that the echo of everything sent arrives before
// the end of stream, in several writes with pauses in between.
func TestHalfCloseOrder(t *testing.T) {
	forModes(t, func(t *testing.T, mode string) {
		addr := startServer(t, false, mode)
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conn := c.(*net.TCPConn)
		defer conn.Close()
		if err := conn.SetDeadline(time.Now().Add(20 * time.Second)); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(conn)
		for i := 0; i < 5; i++ {
			line := fmt.Sprintf("line %d\n", i)
			if _, err := conn.Write([]byte(line)); err != nil {
				t.Fatal(err)
			}
			got, err := r.ReadString('\n')
			if err != nil || got != line {
				t.Fatalf("echo of %q: %q, %v", line, got, err)
			}
		}
		if err := conn.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		if rest, err := io.ReadAll(r); err != nil || len(rest) != 0 {
			t.Errorf("after the half-close: %q, %v; want end of stream and nothing else", rest, err)
		}
	})
}

// TestProgram runs the command as its own process with -listen on a free
// port, once with each -mode and once without (the default), reads the
// address it announces and talks to it with nc.
func TestProgram(t *testing.T) {
	for _, mode := range append([]string{""}, modes...) {
		name := mode
		if name == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) { testProgram(t, mode) })
	}
}

// testProgram runs the command with -mode=mode (no -mode when mode is
// empty) and checks its echo with nc.
func testProgram(t *testing.T, mode string) {
	needNetcat(t)
	args := []string{"-listen", "127.0.0.1:0"}
	if mode != "" {
		args = append(args, "-mode", mode)
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
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
	addr, ok := strings.CutPrefix(strings.TrimSuffix(line, "...\n"), "Echoing on ")
	if !ok {
		t.Fatalf("first line %q, want \"Echoing on ADDR...\"; stderr %q", line, stderr.String())
	}
	if got := netcat(t, addr, []byte("foobar\n")); string(got) != "foobar\n" {
		t.Errorf("nc printed %q, want %q", got, "foobar\n")
	}
	if s := stderr.String(); s != "" {
		t.Errorf("the program wrote to stderr: %q", s)
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
	if !strings.HasPrefix(string(out), "echo: ") || !strings.Contains(string(out), "notaport") {
		t.Errorf("output %q, want an echo: error naming the address", out)
	}
}

// TestProgramBadMode checks that an unknown -mode is a usage error.
func TestProgramBadMode(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-mode", "triple")
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 2 {
		t.Fatalf("exit: %v, want status 2; output %q", err, out)
	}
	if !strings.Contains(string(out), "usage: echo") {
		t.Errorf("output %q, want the usage line", out)
	}
}
