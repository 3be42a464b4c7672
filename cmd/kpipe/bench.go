//go:build linux

package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// harnessName is the program that `kpipe bench` runs: the benchmark
// harness, built from the bench module (github.com/kpipe/kpipe/bench) so
// that the libraries it compares kpipe with stay out of kpipe's own module.
const harnessName = "kpipe-bench"

// harnessEnv names the environment variable that gives the harness's path.
const harnessEnv = "KPIPE_BENCH"

const benchDescription = `
Run kpipe's benchmark harness: file copy, TCP proxy, echo server,
compression and cgo overhead, kpipe side by side with its peers, a median
of several runs each, reported as Markdown and an SVG chart.

The harness is the program kpipe-bench, kept in a module of its own so that
the libraries it compares kpipe with are not kpipe's dependencies. kpipe
bench runs $KPIPE_BENCH if set, else kpipe-bench from kpipe's own directory,
else from PATH, with all the arguments; 'kpipe bench -h' lists its flags.
Build it with 'make bench' (which also runs it) or with
  go install github.com/kpipe/kpipe/bench/cmd/kpipe-bench@latest`

// runBench is `kpipe bench [HARNESS FLAGS]`: it replaces the process with
// the harness, so that signals, the exit status and the terminal are the
// harness's own.
func runBench(args []string) error {
	path, err := findHarness()
	if err != nil {
		if len(args) == 1 && isHelpFlag(args[0]) {
			fs := newFlags("bench", "[HARNESS FLAGS]", benchDescription)
			fs.Usage()
			return errHelp
		}
		return err
	}
	err = syscall.Exec(path, append([]string{path}, args...), os.Environ())
	return fmt.Errorf("run %s: %w", path, err)
}

// isHelpFlag reports whether arg asks for the usage.
func isHelpFlag(arg string) bool {
	switch arg {
	case "-h", "-help", "--help":
		return true
	}
	return false
}

// findHarness returns the path of the harness program: $KPIPE_BENCH, the
// one beside kpipe's executable, or the one in PATH.
func findHarness() (string, error) {
	if p := os.Getenv(harnessEnv); p != "" {
		if err := isExecutable(p); err != nil {
			return "", fmt.Errorf("$%s: %w", harnessEnv, err)
		}
		return p, nil
	}
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), harnessName)
		if isExecutable(p) == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath(harnessName); err == nil {
		return p, nil
	}
	return "", errors.New("the benchmark harness " + harnessName + " is not installed beside kpipe nor in PATH; " +
		"build it with 'make bench' or 'go install github.com/kpipe/kpipe/bench/cmd/kpipe-bench@latest', or set " + harnessEnv)
}

// isExecutable returns nil if path is a regular file with an execute bit.
func isExecutable(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", path)
	}
	return nil
}
