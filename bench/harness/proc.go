package harness

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// A programRun is what one run of an external program measured.
type programRun struct {
	Wall   time.Duration // from just before the start to the end of the wait
	CPU    time.Duration // the program's user plus system CPU time
	Stdout []byte
}

// runProgram runs the program at path with args, waits for it and returns
// its wall time, its own CPU time (user plus system, from the kernel's
// accounting of the child) and its standard output. A program that exits
// with a failure status is an error that quotes its standard error.
// Cancelling ctx kills the program.
func runProgram(ctx context.Context, path string, args ...string) (programRun, error) {
	cmd := exec.CommandContext(ctx, path, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		if ctx.Err() != nil {
			return programRun{}, ctx.Err()
		}
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			return programRun{}, fmt.Errorf("%s: %w", filepath.Base(path), err)
		}
		return programRun{}, fmt.Errorf("%s: %w: %s", filepath.Base(path), err, msg)
	}
	st := cmd.ProcessState
	return programRun{Wall: wall, CPU: st.UserTime() + st.SystemTime(), Stdout: stdout.Bytes()}, nil
}

// cProgram returns the path of the C program name in cfg.CBinDir, or, when
// it cannot be run, an empty path and the reason, for a Case's Skip.
func cProgram(cfg Config, name string) (path, skip string) {
	if cfg.CBinDir == "" {
		return "", "no C programs: Config.CBinDir is empty"
	}
	path = filepath.Join(cfg.CBinDir, name)
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Sprintf("%s is not built in %s (cmake --build it)", name, cfg.CBinDir)
	}
	if st.IsDir() || st.Mode().Perm()&0o111 == 0 {
		return "", fmt.Sprintf("%s is not an executable", path)
	}
	return path, ""
}

// commandPath returns the path of the command name in PATH, or, when there
// is none, an empty path and the reason, for a Case's Skip.
func commandPath(name string) (path, skip string) {
	path, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Sprintf("%s is not in PATH", name)
	}
	return path, ""
}
