package main

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// runMainEnv, set to 1 in its environment, makes the test binary run the
// command's main with its arguments instead of the tests: the test binary is
// the command built with this package's code, so the tests run the real
// command without a second build.
const runMainEnv = "KPIPE_BENCH_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		os.Exit(0) // not reached: main exits
	}
	os.Exit(m.Run())
}

// commandDir returns a fresh directory in memory for the command's files.
func commandDir(t *testing.T) string {
	t.Helper()
	parent := ""
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		parent = "/dev/shm"
	}
	dir, err := os.MkdirTemp(parent, "kpipe-bench-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// runCommand runs the command with args and returns its exit status and
// outputs.
func runCommand(t *testing.T, args ...string) (status int, stdout, stderr string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var o, e bytes.Buffer
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		status = exit.ExitCode()
	default:
		t.Fatalf("kpipe-bench %q: %v", args, err)
	}
	return status, o.String(), e.String()
}

func TestCommand(t *testing.T) {
	dir := commandDir(t)
	work := filepath.Join(dir, "work")

	status, stdout, stderr := runCommand(t, "-list", "-quick", "-dir", work)
	if status != 0 {
		t.Fatalf("-list: exit status %d\n%s", status, stderr)
	}
	names := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(names) == 0 || names[0] == "" {
		t.Fatalf("-list printed no section: %q", stdout)
	}
	for _, n := range names {
		if strings.TrimSpace(n) == "" {
			t.Errorf("-list printed an empty name: %q", stdout)
		}
	}

	// -only selects by name.
	only := "^" + regexp.QuoteMeta(names[len(names)-1]) + "$"
	status, stdout, stderr = runCommand(t, "-list", "-quick", "-dir", work, "-only", only)
	if status != 0 || strings.TrimSpace(stdout) != names[len(names)-1] {
		t.Errorf("-list -only %s: status %d, printed %q, want %q\n%s", only, status, stdout, names[len(names)-1], stderr)
	}

	// Nothing to run: exit status 1, a message, no report.
	out := filepath.Join(dir, "out")
	status, stdout, stderr = runCommand(t, "-quick", "-dir", work, "-only", "NONE_MATCHES", "-out", out)
	if status != 1 {
		t.Errorf("-only NONE_MATCHES: exit status %d, want 1", status)
	}
	if !strings.Contains(stderr, "no sections") {
		t.Errorf("-only NONE_MATCHES: stderr %q lacks \"no sections\"", stderr)
	}
	if stdout != "" {
		t.Errorf("-only NONE_MATCHES printed a report: %q", stdout)
	}
	if _, err := os.Stat(filepath.Join(out, reportFile)); !os.IsNotExist(err) {
		t.Errorf("-only NONE_MATCHES: %s: %v, want no file", reportFile, err)
	}

	// Usage errors: exit status 2.
	for _, args := range [][]string{{"-runs", "0"}, {"-only", "("}, {"-nosuchflag"}, {"extra"}} {
		if status, _, stderr := runCommand(t, append(args, "-dir", work)...); status != 2 {
			t.Errorf("%q: exit status %d, want 2\n%s", args, status, stderr)
		}
	}
}

func TestFindRepoRoot(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, ok := findRepoRoot(wd)
	if !ok {
		t.Fatalf("no kpipe repository above %s", wd)
	}
	if got := modulePath(filepath.Join(root, "go.mod")); got != kpipeModule {
		t.Errorf("root %s declares module %q", root, got)
	}
	// The bench module's own go.mod (github.com/kpipe/kpipe/bench) is not it.
	if filepath.Base(root) == "bench" || !strings.HasPrefix(wd, root+string(filepath.Separator)) {
		t.Errorf("root %s for working directory %s", root, wd)
	}
	if _, ok := findRepoRoot("/"); ok {
		t.Error("found a repository root from /")
	}
}

// TestCommandInterrupted starts a quick run, interrupts it at its first
// progress line and checks that the report of what finished is written and
// the exit status says the run did not complete.
func TestCommandInterrupted(t *testing.T) {
	dir := commandDir(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	cmd := exec.Command(exe, "-quick", "-runs", "1", "-dir", filepath.Join(dir, "work"), "-out", out)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderrPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	// A child that hangs is killed, which ends the scans below.
	hung := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
	defer hung.Stop()
	var stderr strings.Builder
	sc := bufio.NewScanner(stderrPipe)
	for sc.Scan() {
		line := sc.Text()
		stderr.WriteString(line + "\n")
		if strings.HasPrefix(line, "[") {
			if err := cmd.Process.Signal(os.Interrupt); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	for sc.Scan() {
		stderr.WriteString(sc.Text() + "\n")
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
		killed = true
	case <-time.After(60 * time.Second):
		t.Fatalf("no exit 60 s after SIGINT\n%s", stderr.String())
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Errorf("interrupted run: %v, want exit status 1\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "run stopped") {
		t.Errorf("stderr does not say the run stopped:\n%s", stderr.String())
	}
	md, err := os.ReadFile(filepath.Join(out, reportFile))
	if err != nil {
		t.Fatalf("report not written: %v\n%s", err, stderr.String())
	}
	if !strings.HasPrefix(string(md), "# kpipe benchmarks") || stdout.String() != string(md) {
		t.Errorf("report.md and standard output differ or lack the title:\n%s\n---\n%s", md, stdout.String())
	}
	if _, err := os.Stat(filepath.Join(out, chartFile)); err != nil {
		t.Errorf("chart not written: %v", err)
	}
}
