package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kpipe/kpipe/internal/testprog"
)

// TestMain runs main instead of the tests when the process is a child
// started by TestProgram.
func TestMain(m *testing.M) { testprog.Main(m, main) }

// TestProgram runs the command on a directory, reads the address it
// announces and fetches a file with curl, compressed and not. The server's
// own tests are in kphttp.
func TestProgram(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is not installed: run make deps")
	}
	dir := t.TempDir()
	want := []byte(strings.Repeat("kpipe file server\n", 1000))
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), want, 0o644); err != nil {
		t.Fatal(err)
	}
	s := testprog.Start(t, testprog.Command("-listen", "127.0.0.1:0", "-dir", dir), "Serving ")
	_, url, ok := strings.Cut(strings.TrimSpace(s.First), " on ")
	if !ok || !strings.HasPrefix(url, "http://") {
		t.Fatalf("first line %q, want \"Serving DIR on http://ADDR/\"", s.First)
	}
	for _, args := range [][]string{{"--compressed"}, {}} {
		args = append([]string{"-sS", "--max-time", "30"}, append(args, url+"notes.txt")...)
		got, err := exec.Command("curl", args...).Output()
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("curl %v: %d bytes, %v; want the %d of the file", args, len(got), err, len(want))
		}
	}
}
