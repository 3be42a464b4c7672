//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kpipe/kpipe/internal/testprog"
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
	stdout, stderr, code := testprog.Run(t, cmd)
	return result{stdout, stderr, code}
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

// startServer starts the server command args and waits for the first line
// on its standard output, which must start with prefix. The process is
// killed at the end of the test if still running.
func startServer(t *testing.T, prefix string, args ...string) *testprog.Server {
	t.Helper()
	return testprog.Start(t, kpipeCmd(t, "", args...), prefix)
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
