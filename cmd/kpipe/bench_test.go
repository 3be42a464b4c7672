//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchRunsHarness checks that kpipe bench runs the program
// $KPIPE_BENCH names with every argument, and that the harness's output and
// exit status are kpipe's.
func TestBenchRunsHarness(t *testing.T) {
	dir := t.TempDir()
	harness := filepath.Join(dir, "fake-harness")
	script := "#!/bin/sh\necho \"harness:$*\"\necho oops >&2\nexit 3\n"
	if err := os.WriteFile(harness, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(harnessEnv, harness)
	r := runKpipe(t, "", nil, "bench", "-quick", "-only", "File copy")
	if r.code != 3 || r.stdout != "harness:-quick -only File copy\n" || r.stderr != "oops\n" {
		t.Fatalf("kpipe bench: status %d, stdout %q, stderr %q; want the harness's 3, its arguments, oops", r.code, r.stdout, r.stderr)
	}
}

// TestBenchWithoutHarness checks the error, and the usage, when the harness
// is nowhere to be found.
func TestBenchWithoutHarness(t *testing.T) {
	t.Setenv(harnessEnv, "")
	t.Setenv("PATH", t.TempDir())
	mustFail(t, runKpipe(t, "", nil, "bench", "-quick"), "bench", "kpipe-bench is not installed")
	r := runKpipe(t, "", nil, "bench", "-h")
	if r.code != 0 || !strings.Contains(r.stderr, "Usage: kpipe bench") {
		t.Fatalf("kpipe bench -h: status %d, stderr %q; want 0 and the usage", r.code, r.stderr)
	}
	t.Setenv(harnessEnv, filepath.Join(t.TempDir(), "missing"))
	mustFail(t, runKpipe(t, "", nil, "bench"), "bench", "$KPIPE_BENCH")
}
