package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kpipe/kpipe/internal/testprog"
)

// TestMain runs main instead of the tests when the process is a child
// started by TestProgram.
func TestMain(m *testing.M) { testprog.Main(m, main) }

// writeRandomFile creates a file of size random bytes in dir and returns its
// path and SHA-256.
func writeRandomFile(t *testing.T, dir string, size int) (string, [32]byte) {
	t.Helper()
	data := make([]byte, size)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "src.bin")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, sha256.Sum256(data)
}

// fileSum returns the SHA-256 and size of the file at path.
func fileSum(t *testing.T, path string) ([32]byte, int64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		t.Fatal(err)
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum, n
}

// openFDs counts the process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents) - 1 // the directory being read
}

// TestCopyFile copies random files of several sizes, including sizes that
// are not multiples of a page or of the pipe, and checks the copies'
// SHA-256, the reported count and that no descriptor is left open.
func TestCopyFile(t *testing.T) {
	sizes := []int{0, 1, 4095, 64 << 10, 1 << 20, 5<<20 + 12345}
	for _, size := range sizes {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			dir := t.TempDir()
			src, want := writeRandomFile(t, dir, size)
			dst := filepath.Join(dir, "dst.bin")
			before := openFDs(t)
			var stdout, stderr bytes.Buffer
			if code := run([]string{src, dst}, &stdout, &stderr); code != 0 {
				t.Fatalf("exit status %d, stderr %q", code, stderr.String())
			}
			if after := openFDs(t); after != before {
				t.Errorf("open descriptors: %d before, %d after", before, after)
			}
			if stderr.Len() != 0 {
				t.Errorf("stderr = %q, want nothing", stderr.String())
			}
			wantOut := fmt.Sprintf("copied %d bytes from %s to %s\n", size, src, dst)
			if stdout.String() != wantOut {
				t.Errorf("stdout = %q, want %q", stdout.String(), wantOut)
			}
			got, n := fileSum(t, dst)
			if n != int64(size) || got != want {
				t.Errorf("copy has %d bytes, sha256 %x; want %d bytes, sha256 %x", n, got, size, want)
			}
		})
	}
}

// TestCopyTruncatesDestination checks that a longer existing destination is
// replaced, not overwritten in place.
func TestCopyTruncatesDestination(t *testing.T) {
	dir := t.TempDir()
	src, want := writeRandomFile(t, dir, 100<<10)
	dst := filepath.Join(dir, "dst.bin")
	if err := os.WriteFile(dst, bytes.Repeat([]byte("x"), 300<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := copyFile(dst, src)
	if err != nil || n != 100<<10 {
		t.Fatalf("copyFile = %d, %v; want %d, nil", n, err, 100<<10)
	}
	if got, size := fileSum(t, dst); size != 100<<10 || got != want {
		t.Errorf("destination has %d bytes, sha256 %x; want %d bytes, sha256 %x", size, got, 100<<10, want)
	}
}

// TestMissingSource checks the error, the exit status and that no
// destination is created when the source does not exist.
func TestMissingSource(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "no-such-file")
	dst := filepath.Join(dir, "dst.bin")
	var stdout, stderr bytes.Buffer
	if code := run([]string{src, dst}, &stdout, &stderr); code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout = %q, want nothing", stdout.String())
	}
	msg := stderr.String()
	if !strings.HasPrefix(msg, "filecopy: ") || !strings.Contains(msg, src) ||
		!strings.Contains(msg, "no such file or directory") {
		t.Errorf("stderr = %q, want a filecopy error naming %s and saying it does not exist", msg, src)
	}
	if _, err := os.Stat(dst); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("destination was created (stat: %v)", err)
	}
	if _, err := copyFile(dst, src); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("copyFile error = %v, want one wrapping fs.ErrNotExist", err)
	}
}

// TestSourceIsDirectory checks that a directory source is refused before
// the destination is created.
func TestSourceIsDirectory(t *testing.T) {
	dir := t.TempDir()
	dst := filepath.Join(dir, "dst.bin")
	if _, err := copyFile(dst, dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("copyFile from a directory: err = %v, want \"is a directory\"", err)
	}
	if _, err := os.Stat(dst); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("destination was created (stat: %v)", err)
	}
}

// TestUsage checks the usage error for a wrong number of arguments.
func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"one"}, {"one", "two", "three"}} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 2 {
			t.Errorf("run(%q): exit status %d, want 2", args, code)
		}
		if !strings.Contains(stderr.String(), "usage: filecopy SRC DST") {
			t.Errorf("run(%q): stderr = %q, want the usage line", args, stderr.String())
		}
	}
}

// TestProgram runs the command as its own process, as `go run` would: a
// successful copy of a random file and a missing source.
func TestProgram(t *testing.T) {
	dir := t.TempDir()
	const size = 3<<20 + 777
	src, want := writeRandomFile(t, dir, size)
	dst := filepath.Join(dir, "copy.bin")

	stdout, stderr, code := testprog.Run(t, testprog.Command(src, dst))
	if code != 0 || stderr != "" {
		t.Fatalf("exit status %d, stderr %q", code, stderr)
	}
	if wantOut := fmt.Sprintf("copied %d bytes", size); !strings.HasPrefix(stdout, wantOut) {
		t.Errorf("stdout = %q, want it to start with %q", stdout, wantOut)
	}
	if got, n := fileSum(t, dst); n != size || got != want {
		t.Errorf("copy has %d bytes, sha256 %x; want %d bytes, sha256 %x", n, got, size, want)
	}

	missing := filepath.Join(dir, "missing")
	stdout, stderr, code = testprog.Run(t, testprog.Command(missing, filepath.Join(dir, "other")))
	if code != 1 || stdout != "" || !strings.Contains(stderr, missing) {
		t.Errorf("missing source: exit status %d, stdout %q, stderr %q; want 1, nothing, an error naming %s",
			code, stdout, stderr, missing)
	}
}
