//go:build linux

package main

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// randomFile writes n random bytes to dir/name with mode perm and returns
// the path and the bytes.
func randomFile(t *testing.T, dir, name string, n int, perm os.FileMode) (string, []byte) {
	t.Helper()
	data := make([]byte, n)
	rand.Read(data)
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // past the umask
		t.Fatal(err)
	}
	return path, data
}

// checkFile fails the test unless path holds want with mode perm.
func checkFile(t *testing.T, path string, want []byte, perm os.FileMode) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("%s: %d bytes, %v; want %d", path, len(got), err, len(want))
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != perm {
		t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), perm)
	}
}

// TestCp copies a file to a new name, over an existing file and into a
// directory: same bytes, same mode bits.
func TestCp(t *testing.T) {
	dir := t.TempDir()
	src, data := randomFile(t, dir, "src.bin", 3<<20+17, 0o751)
	dst := filepath.Join(dir, "dst.bin")
	mustSucceed(t, runKpipe(t, dir, nil, "cp", src, dst), "cp")
	checkFile(t, dst, data, 0o751)

	// Over an existing file with other bits: they become the source's.
	if err := os.WriteFile(dst, []byte("old contents, longer than nothing"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustSucceed(t, runKpipe(t, dir, nil, "cp", src, dst), "cp")
	checkFile(t, dst, data, 0o751)

	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	mustSucceed(t, runKpipe(t, dir, nil, "cp", "src.bin", "sub"), "cp", "src.bin", "sub")
	checkFile(t, filepath.Join(sub, "src.bin"), data, 0o751)

	// An empty file.
	empty, _ := randomFile(t, dir, "empty", 0, 0o640)
	mustSucceed(t, runKpipe(t, dir, nil, "cp", empty, "empty.copy"), "cp")
	checkFile(t, filepath.Join(dir, "empty.copy"), nil, 0o640)

	mustFail(t, runKpipe(t, dir, nil, "cp", "missing", "x"), "cp", "missing")
	mustFail(t, runKpipe(t, dir, nil, "cp", src, src), "cp", "same file")
	if r := runKpipe(t, dir, nil, "cp", src); r.code != 2 {
		t.Errorf("cp with one argument: status %d, want 2", r.code)
	}
	if _, err := os.Stat(filepath.Join(dir, "x")); err == nil {
		t.Error("a failed cp left its destination")
	}
}

// TestCpProgress: -progress draws a bar on standard error, even when it is
// not a terminal, and the copy is whole.
func TestCpProgress(t *testing.T) {
	dir := t.TempDir()
	src, data := randomFile(t, dir, "big.bin", 4<<20, 0o644)
	dst := filepath.Join(dir, "copy.bin")
	r := runKpipe(t, dir, nil, "cp", "-progress", src, dst)
	if r.code != 0 || !strings.Contains(r.stderr, "big.bin") || !strings.Contains(r.stderr, "100%") || !strings.Contains(r.stderr, "MB") {
		t.Fatalf("cp -progress: status %d, stderr %q; want 0 and a bar at 100%%", r.code, r.stderr)
	}
	checkFile(t, dst, data, 0o644)
	// Without -progress, and stderr not a terminal: no bar.
	mustSucceed(t, runKpipe(t, dir, nil, "cp", src, dst), "cp")
}

// TestCat concatenates files and standard input ("-") to standard output.
func TestCat(t *testing.T) {
	dir := t.TempDir()
	a, aData := randomFile(t, dir, "a", 1<<20+3, 0o644)
	b, bData := randomFile(t, dir, "b", 70_000, 0o644)
	stdin := []byte("from standard input\n")
	want := string(aData) + string(stdin) + string(bData) + string(aData)
	r := runKpipe(t, dir, stdin, "cat", a, "-", b, a)
	mustSucceed(t, r, "cat")
	if r.stdout != want {
		t.Errorf("cat a - b a: %d bytes, want %d", len(r.stdout), len(want))
	}
	r = runKpipe(t, dir, stdin, "cat")
	mustSucceed(t, r, "cat")
	if r.stdout != string(stdin) {
		t.Errorf("cat: %q, want standard input %q", r.stdout, stdin)
	}
	// A missing file is reported; the others are still copied.
	r = runKpipe(t, dir, nil, "cat", a, "missing", b)
	if r.code != 1 || !strings.HasPrefix(r.stderr, "kpipe cat: ") || r.stdout != string(aData)+string(bData) {
		t.Errorf("cat a missing b: status %d, stderr %q, %d bytes; want 1, an error and a+b", r.code, r.stderr, len(r.stdout))
	}
}

// TestCatProgress: -progress shows the count on standard error, for files
// (known total) and for a pipe to a pipe (counted in steps).
func TestCatProgress(t *testing.T) {
	dir := t.TempDir()
	a, aData := randomFile(t, dir, "a", 3<<20, 0o644)
	stdinFile, err := os.Open(a)
	if err != nil {
		t.Fatal(err)
	}
	defer stdinFile.Close()
	cmd := kpipeCmd(t, dir, "cat", "-progress", a, "-")
	cmd.Stdin = stdinFile // a regular file: the total is known
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stdout.String() != string(aData)+string(aData) || !strings.Contains(stderr.String(), "100%") {
		t.Errorf("cat -progress a - <a: %v, %d bytes, stderr %q; want %d bytes and a bar at 100%%",
			err, stdout.Len(), stderr.String(), 2*len(aData))
	}
	// Standard input is a pipe here (exec feeds a bytes.Reader through one),
	// and standard output too.
	cmd = kpipeCmd(t, dir, "cat", "-progress")
	cmd.Stdin = bytes.NewReader(aData)
	stdout.Reset()
	stderr.Reset()
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || !bytes.Equal(stdout.Bytes(), aData) || !strings.Contains(stderr.String(), "3.1 MB") {
		t.Errorf("pipe | cat -progress | pipe: %v, %d bytes, stderr %q; want %d bytes and the count", err, stdout.Len(), stderr.String(), len(aData))
	}
}
