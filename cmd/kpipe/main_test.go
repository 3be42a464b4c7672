//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// kpipeBin is the kpipe command the tests run, built once by TestMain. It
// is built without the race detector even under go test -race: a
// race-enabled binary takes about a second to start on a busy machine, and
// the tests start it a hundred times. The library under it is tested with
// the race detector in its own package.
var kpipeBin string

// TestMain builds the command into a temporary directory, runs the tests
// and removes the directory.
func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

// buildAndRun is TestMain's body, returning the exit status so that the
// deferred removal runs.
func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "kpipe-cmd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	kpipeBin = filepath.Join(dir, "kpipe")
	build := exec.Command("go", "build", "-o", kpipeBin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// kpipeCmd returns the kpipe command with args, to run in dir ("" for the
// current directory), killed if it outlives the test.
func kpipeCmd(t *testing.T, dir string, args ...string) *exec.Cmd {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, kpipeBin, args...)
	cmd.Dir = dir
	return cmd
}

// result is what a finished kpipe command left.
type result struct {
	stdout, stderr string
	code           int
}

// runKpipe runs the command with args in dir, with stdin as its standard
// input (nil: empty), and returns its output and exit status.
func runKpipe(t *testing.T, dir string, stdin []byte, args ...string) result {
	t.Helper()
	cmd := kpipeCmd(t, dir, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("kpipe %v: %v", args, err)
	}
	return result{stdout.String(), stderr.String(), code}
}

// mustSucceed fails the test unless r is a success without messages.
func mustSucceed(t *testing.T, r result, args ...string) {
	t.Helper()
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("kpipe %v: status %d, stderr %q; want 0 and nothing", args, r.code, r.stderr)
	}
}

// mustFail fails the test unless r has exit status 1 and a message on
// stderr prefixed "kpipe CMD: " that contains want.
func mustFail(t *testing.T, r result, cmd, want string) {
	t.Helper()
	if r.code != 1 || !strings.HasPrefix(r.stderr, "kpipe "+cmd+": ") || !strings.Contains(r.stderr, want) {
		t.Fatalf("status %d, stderr %q; want 1 and an error %q", r.code, r.stderr, want)
	}
}

// syncBuffer is a bytes.Buffer safe to write from a command's output
// goroutine while the test reads it.
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

// server is a kpipe server running as a child process.
type server struct {
	cmd    *exec.Cmd
	first  string      // the first line it printed
	stderr *syncBuffer // what it printed on stderr so far
	done   chan error  // receives cmd.Wait's result
}

// startServer starts the server command args and waits for the first line
// on its standard output, which must start with prefix. The process is
// killed at the end of the test if still running.
func startServer(t *testing.T, prefix string, args ...string) *server {
	t.Helper()
	cmd := kpipeCmd(t, "", args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, stderr: new(syncBuffer), done: make(chan error, 1)}
	exited := make(chan struct{})
	cmd.Stderr = s.stderr
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
	case s.first = <-lines:
	case <-time.After(30 * time.Second):
		t.Fatalf("kpipe %v printed no line within 30s; stderr %q", args, s.stderr.String())
	}
	if !strings.HasPrefix(s.first, prefix) {
		t.Fatalf("kpipe %v: first line %q, want %q...; stderr %q", args, s.first, prefix, s.stderr.String())
	}
	return s
}

// wait waits up to timeout for the server to exit and returns its exit
// status (-1: still running).
func (s *server) wait(t *testing.T, timeout time.Duration) int {
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

// TestUsage checks the command's own usage: no command and an unknown one
// are usage errors, help is not, and every command has -h.
func TestUsage(t *testing.T) {
	// kpipe bench hands its flags to the harness (see bench_test.go); here
	// it must not find one.
	t.Setenv(harnessEnv, "")
	t.Setenv("PATH", t.TempDir())
	if r := runKpipe(t, "", nil); r.code != 2 || !strings.Contains(r.stderr, "Usage: kpipe") {
		t.Errorf("no command: status %d, stderr %q; want 2 and the usage", r.code, r.stderr)
	}
	if r := runKpipe(t, "", nil, "frobnicate"); r.code != 2 || !strings.Contains(r.stderr, `kpipe: unknown command "frobnicate"`) {
		t.Errorf("unknown command: status %d, stderr %q; want 2", r.code, r.stderr)
	}
	r := runKpipe(t, "", nil, "help")
	if r.code != 0 {
		t.Errorf("help: status %d, stdout %q; want 0", r.code, r.stdout)
	}
	for _, c := range commands {
		if !strings.Contains(r.stdout, "  "+c.name+" ") {
			t.Errorf("help does not list %s: %q", c.name, r.stdout)
		}
		h := runKpipe(t, "", nil, c.name, "-h")
		if h.code != 0 || !strings.HasPrefix(h.stderr, "Usage: kpipe "+c.name) {
			t.Errorf("%s -h: status %d, stderr %q; want 0 and its usage", c.name, h.code, h.stderr)
		}
		if c.name == "bench" {
			continue
		}
		bad := runKpipe(t, "", nil, c.name, "-no-such-flag")
		if bad.code != 2 || !strings.HasPrefix(bad.stderr, "kpipe "+c.name+": ") {
			t.Errorf("%s -no-such-flag: status %d, stderr %q; want 2 and an error", c.name, bad.code, bad.stderr)
		}
	}
}
