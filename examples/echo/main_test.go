package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kpipe/kpipe/internal/testprog"
)

// TestMain runs main instead of the tests when the process is a child
// started by TestProgram.
func TestMain(m *testing.M) { testprog.Main(m, main) }

// modes are the values of -mode, in the order the tests run them.
var modes = []string{"double", "splice"}

// forModes runs f as a subtest for each echo mode.
func forModes(t *testing.T, f func(t *testing.T, mode string)) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) { f(t, mode) })
	}
}

// startServer runs serve in-process with the handler of mode on a free
// loopback port and returns the address. At the end of the test it closes
// the listener and fails the test if serve does not return nil within a few
// seconds (a connection handler that never ends) or if the server logged
// anything.
func startServer(t *testing.T, mode string) string {
	t.Helper()
	h, ok := handlers[mode]
	if !ok {
		t.Fatalf("no echo mode %q", mode)
	}
	return testprog.ServeInProcess(t, &logger, "echo: ", func(ln net.Listener) error { return serve(ln, h) })
}

// TestNetcat sends "foobar\n" with the real nc, as in the article, and
// expects it back, in both modes.
func TestNetcat(t *testing.T) {
	forModes(t, func(t *testing.T, mode string) {
		addr := startServer(t, mode)
		testprog.NetcatFoobar(t, addr)
	})
}

// TestNetcatLarge sends more than a pipe and a socket buffer hold through
// nc and checks the echo byte for byte.
func TestNetcatLarge(t *testing.T) {
	forModes(t, func(t *testing.T, mode string) {
		addr := startServer(t, mode)
		input := make([]byte, 3<<20+5)
		if _, err := rand.Read(input); err != nil {
			t.Fatal(err)
		}
		got := testprog.Netcat(t, addr, input)
		if !bytes.Equal(got, input) {
			t.Errorf("nc printed %d bytes (sha256 %x), want the %d bytes sent (sha256 %x)",
				len(got), sha256.Sum256(got), len(input), sha256.Sum256(input))
		}
	})
}

// TestConcurrentClients runs several Go clients at once, each sending its
// own 4 MiB of random bytes, and checks every echo's SHA-256.
func TestConcurrentClients(t *testing.T) {
	forModes(t, func(t *testing.T, mode string) {
		testprog.CheckEchoes(t, startServer(t, mode), 8, 4<<20)
	})
}

// TestEmptyConnection checks that a client that sends nothing gets an
// immediate end of stream.
func TestEmptyConnection(t *testing.T) {
	forModes(t, func(t *testing.T, mode string) {
		testprog.CheckEmptyEcho(t, startServer(t, mode))
	})
}

// TestClientGoesAway checks that the server ends a connection whose client
// stops reading, fills every buffer on the way and then disconnects: the
// handler must not stay blocked on the full pipe (startServer's clean-up
// fails the test if it does), and a client going away is not logged.
func TestClientGoesAway(t *testing.T) {
	forModes(t, func(t *testing.T, mode string) {
		addr := startServer(t, mode)
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
		addr := startServer(t, mode)
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
	testprog.NeedNetcat(t)
	args := []string{"-listen", "127.0.0.1:0"}
	if mode != "" {
		args = append(args, "-mode", mode)
	}
	s := testprog.Start(t, testprog.Command(args...), "Echoing on ")
	addr := strings.TrimSuffix(strings.TrimPrefix(s.First, "Echoing on "), "...\n")
	testprog.NetcatFoobar(t, addr)
	s.CheckQuiet(t)
}

// TestProgramBadAddress checks that an address that cannot be listened on
// is reported on stderr with a non-zero exit.
func TestProgramBadAddress(t *testing.T) {
	testprog.CheckBadAddress(t, "echo")
}

// TestProgramBadMode checks that an unknown -mode is a usage error.
func TestProgramBadMode(t *testing.T) {
	stdout, stderr, code := testprog.Run(t, testprog.Command("-mode", "triple"))
	if code != 2 {
		t.Fatalf("exit status %d, want 2; stdout %q, stderr %q", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "usage: echo") {
		t.Errorf("stderr %q, want the usage line", stderr)
	}
}
