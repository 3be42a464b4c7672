//go:build linux

package main

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kpipe/kpipe/internal/testprog"
)

// testData returns n bytes that compress somewhat: text with random runs.
func testData(t *testing.T, n int) []byte {
	t.Helper()
	var b bytes.Buffer
	noise := make([]byte, 64)
	for i := 0; b.Len() < n; i++ {
		if i%8 == 0 {
			rand.Read(noise)
			b.Write(noise)
		}
		b.WriteString("kpipe moves bytes between descriptors without copying them\n")
	}
	return b.Bytes()[:n]
}

// systemGzip runs gzip(1) with args and input and returns its output.
func systemGzip(t *testing.T, dir string, input []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("gzip", args...)
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gzip %v: %v: %s", args, err, stderr.String())
	}
	return out
}

// readHeader returns the gzip header of data, read by compress/gzip.
func readHeader(t *testing.T, data []byte) gzip.Header {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("compress/gzip: %v", err)
	}
	return zr.Header
}

// writeGzip writes a gzip file of body with the given stored name, made by
// compress/gzip, and returns its path.
func writeGzip(t *testing.T, path, storedName string, body []byte) string {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Name = storedName
	zw.ModTime = time.Unix(1_600_000_000, 0)
	zw.Write(body)
	zw.Close()
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// dirNames returns the names in dir, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestGzipStreamReadByGzip compresses standard input and has gzip(1)
// decompress the result; -name and -comment reach the header.
func TestGzipStreamReadByGzip(t *testing.T) {
	data := testData(t, 512<<10+11)
	for _, level := range []string{"1", "9"} {
		r := runKpipe(t, "", data, "gzip", "-l", level, "-name", "data.txt", "-comment", "made by kpipe")
		mustSucceed(t, r, "gzip", "-l", level)
		if got := systemGzip(t, "", []byte(r.stdout), "-dc"); !bytes.Equal(got, data) {
			t.Errorf("-l %s: gzip -dc gave %d bytes, want the %d compressed", level, len(got), len(data))
		}
		if h := readHeader(t, []byte(r.stdout)); h.Name != "data.txt" || h.Comment != "made by kpipe" || h.OS != 3 {
			t.Errorf("-l %s: header %+v, want the name, comment and OS 3", level, h)
		}
	}
	if r := runKpipe(t, "", nil, "gzip", "-l", "12"); r.code != 2 {
		t.Errorf("-l 12: status %d, want 2", r.code)
	}
	// Empty input is a valid member of empty data.
	r := runKpipe(t, "", nil, "gzip")
	mustSucceed(t, r, "gzip")
	if got := systemGzip(t, "", []byte(r.stdout), "-dc"); len(got) != 0 {
		t.Errorf("gzip -dc of empty input's output: %q", got)
	}
}

// TestGunzipStreamReadsGzip decompresses gzip(1)'s output, one member and
// two concatenated.
func TestGunzipStreamReadsGzip(t *testing.T) {
	data := testData(t, 1<<20+3)
	gz := systemGzip(t, "", data, "-c")
	r := runKpipe(t, "", gz, "gunzip")
	mustSucceed(t, r, "gunzip")
	if r.stdout != string(data) {
		t.Errorf("gunzip of gzip -c output: %d bytes, want %d", len(r.stdout), len(data))
	}
	two := append(append([]byte{}, gz...), systemGzip(t, "", []byte("tail\n"), "-c")...)
	r = runKpipe(t, "", two, "gunzip")
	mustSucceed(t, r, "gunzip")
	if r.stdout != string(data)+"tail\n" {
		t.Errorf("gunzip of two members: %d bytes, want %d", len(r.stdout), len(data)+5)
	}
}

// TestGzipFile compresses a file like gzip(1): FILE.gz with the name, time
// and mode of FILE, FILE removed unless -k, an existing output kept unless
// -f.
func TestGzipFile(t *testing.T) {
	dir := t.TempDir()
	data := testData(t, 1<<20)
	src := filepath.Join(dir, "notes.txt")
	mtime := time.Unix(1_500_000_000, 0)
	testprog.WriteFileAt(t, src, data, 0o640, mtime)
	mustSucceed(t, runKpipe(t, dir, nil, "gzip", "-k", "notes.txt"), "gzip", "-k")
	gz, err := os.ReadFile(src + ".gz")
	if err != nil {
		t.Fatal(err)
	}
	if got := systemGzip(t, "", gz, "-dc"); !bytes.Equal(got, data) {
		t.Errorf("gzip -dc of notes.txt.gz: %d bytes, want %d", len(got), len(data))
	}
	if h := readHeader(t, gz); h.Name != "notes.txt" || !h.ModTime.Equal(mtime) {
		t.Errorf("header name %q, time %v; want notes.txt, %v", h.Name, h.ModTime, mtime)
	}
	fi, err := os.Stat(src + ".gz")
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o640 || !fi.ModTime().Equal(mtime) {
		t.Errorf("notes.txt.gz: mode %v, time %v; want 0640 and %v", fi.Mode().Perm(), fi.ModTime(), mtime)
	}
	if _, err := os.Stat(src); err != nil {
		t.Errorf("-k: the input is gone: %v", err)
	}

	// The output exists: refused without -f, and left as it was.
	if err := os.WriteFile(src+".gz", []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustFail(t, runKpipe(t, dir, nil, "gzip", "notes.txt"), "gzip", "already exists")
	if b, _ := os.ReadFile(src + ".gz"); string(b) != "precious" {
		t.Errorf("an existing output was changed without -f: %q", b)
	}
	if _, err := os.Stat(src); err != nil {
		t.Errorf("a refused gzip removed its input: %v", err)
	}
	mustSucceed(t, runKpipe(t, dir, nil, "gzip", "-f", "notes.txt"), "gzip", "-f")
	if _, err := os.Stat(src); err == nil {
		t.Error("without -k the input is still there")
	}
	if got := systemGzip(t, dir, nil, "-dc", "notes.txt.gz"); !bytes.Equal(got, data) {
		t.Errorf("gzip -dc of the overwritten output: %d bytes, want %d", len(got), len(data))
	}
	if names := dirNames(t, dir); len(names) != 1 {
		t.Errorf("files left: %v, want only notes.txt.gz", names)
	}
	mustFail(t, runKpipe(t, dir, nil, "gzip", "notes.txt.gz"), "gzip", "already has the .gz suffix")
}

// TestGunzipFile decompresses gzip(1)'s files: FILE.gz to FILE, -k, and
// an existing output kept unless -f.
func TestGunzipFile(t *testing.T) {
	dir := t.TempDir()
	data := testData(t, 1<<20+5)
	src := filepath.Join(dir, "log.txt")
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	systemGzip(t, dir, nil, "log.txt") // log.txt -> log.txt.gz
	mustSucceed(t, runKpipe(t, dir, nil, "gunzip", "-k", "log.txt.gz"), "gunzip", "-k")
	if got, err := os.ReadFile(src); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("log.txt: %d bytes, %v; want %d", len(got), err, len(data))
	}
	if fi, err := os.Stat(src); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("log.txt: %v, %v; want mode 0600", fi, err)
	}
	if err := os.WriteFile(src, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustFail(t, runKpipe(t, dir, nil, "gunzip", "log.txt.gz"), "gunzip", "already exists")
	if b, _ := os.ReadFile(src); string(b) != "precious" {
		t.Errorf("an existing output was changed without -f: %q", b)
	}
	mustSucceed(t, runKpipe(t, dir, nil, "gunzip", "-f", "log.txt.gz"), "gunzip", "-f")
	if got, _ := os.ReadFile(src); !bytes.Equal(got, data) {
		t.Errorf("log.txt after -f: %d bytes, want %d", len(got), len(data))
	}
	if names := dirNames(t, dir); len(names) != 1 || names[0] != "log.txt" {
		t.Errorf("files left: %v, want only log.txt", names)
	}
	// A round trip through both of ours, and the unknown suffix.
	mustSucceed(t, runKpipe(t, dir, nil, "gzip", "log.txt"), "gzip")
	mustSucceed(t, runKpipe(t, dir, nil, "gunzip", "log.txt.gz"), "gunzip")
	if got, _ := os.ReadFile(src); !bytes.Equal(got, data) {
		t.Errorf("log.txt after gzip and gunzip: %d bytes, want %d", len(got), len(data))
	}
	mustFail(t, runKpipe(t, dir, nil, "gunzip", "log.txt"), "gunzip", "unknown suffix")
}

// TestGunzipRestoresName: -N names the output after the name gzip -N
// stored, in the current directory, with the stored time.
func TestGunzipRestoresName(t *testing.T) {
	base := t.TempDir()
	in, cwd := filepath.Join(base, "in"), filepath.Join(base, "cwd")
	for _, d := range []string{in, cwd} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data := testData(t, 100_000)
	orig := filepath.Join(in, "original name.txt")
	mtime := time.Unix(1_400_000_000, 0)
	testprog.WriteFileAt(t, orig, data, 0o644, mtime)
	gz := systemGzip(t, in, nil, "-N", "-c", "original name.txt")
	renamed := filepath.Join(in, "renamed.gz")
	if err := os.WriteFile(renamed, gz, 0o644); err != nil {
		t.Fatal(err)
	}
	mustSucceed(t, runKpipe(t, cwd, nil, "gunzip", "-N", "-k", renamed), "gunzip", "-N")
	restored := filepath.Join(cwd, "original name.txt")
	if got, err := os.ReadFile(restored); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("%s: %d bytes, %v; want %d", restored, len(got), err, len(data))
	}
	if fi, _ := os.Stat(restored); !fi.ModTime().Equal(mtime) {
		t.Errorf("restored time %v, want the stored %v", fi.ModTime(), mtime)
	}
	// Without -N: the name without .gz, next to the input.
	mustSucceed(t, runKpipe(t, cwd, nil, "gunzip", renamed), "gunzip")
	if got, err := os.ReadFile(filepath.Join(in, "renamed")); err != nil || !bytes.Equal(got, data) {
		t.Errorf("without -N: %d bytes, %v", len(got), err)
	}
}

// TestGunzipUnsafeStoredNames: a stored name that is a path, or not a plain
// name, is never used: -N warns and names the output as without -N.
func TestGunzipUnsafeStoredNames(t *testing.T) {
	base := t.TempDir()
	cwd := filepath.Join(base, "a", "cwd")
	if err := os.MkdirAll(filepath.Join(cwd, "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"../x", "/etc/passwd", "a/b", "..", ".", "x\ny", "../../escape"} {
		writeGzip(t, filepath.Join(cwd, "evil.gz"), name, []byte("payload\n"))
		r := runKpipe(t, cwd, nil, "gunzip", "-N", "evil.gz")
		if r.code != 0 || !strings.Contains(r.stderr, "kpipe gunzip: warning:") || !strings.Contains(r.stderr, "not a plain file name") {
			t.Errorf("stored name %q: status %d, stderr %q; want 0 and a warning", name, r.code, r.stderr)
		}
		if got, err := os.ReadFile(filepath.Join(cwd, "evil")); err != nil || string(got) != "payload\n" {
			t.Errorf("stored name %q: the output evil has %q, %v; want the payload", name, got, err)
		}
		if names := dirNames(t, cwd); strings.Join(names, ",") != "a,evil" {
			t.Errorf("stored name %q: the current directory holds %v; want a and evil", name, names)
		}
		for _, p := range []string{filepath.Join(base, "a", "x"), filepath.Join(cwd, "a", "b"), filepath.Join(base, "escape")} {
			if _, err := os.Lstat(p); err == nil {
				t.Errorf("stored name %q: %s was written", name, p)
			}
		}
		os.Remove(filepath.Join(cwd, "evil"))
	}
	// No stored name: -N names the output as without it, quietly.
	writeGzip(t, filepath.Join(cwd, "plain.gz"), "", []byte("p\n"))
	mustSucceed(t, runKpipe(t, cwd, nil, "gunzip", "-N", "plain.gz"), "gunzip", "-N")
	if got, _ := os.ReadFile(filepath.Join(cwd, "plain")); string(got) != "p\n" {
		t.Errorf("no stored name: plain has %q", got)
	}
}

// TestGunzipGarbage: input that is not gzip data, or is cut short, is an
// error with status 1, and no output file or temporary file is left.
func TestGunzipGarbage(t *testing.T) {
	r := runKpipe(t, "", []byte("this is not gzip data\n"), "gunzip")
	mustFail(t, r, "gunzip", "not in gzip format")

	dir := t.TempDir()
	gz := systemGzip(t, "", testData(t, 1<<20), "-c")
	for name, content := range map[string][]byte{
		"garbage.gz":   []byte("this is not gzip data\n"),
		"empty.gz":     nil,
		"truncated.gz": gz[:len(gz)/2],
		"corrupt.gz":   append(append(append([]byte{}, gz[:len(gz)/2]...), bytes.Repeat([]byte{0xff}, 64)...), gz[len(gz)/2+64:]...),
		"trailing.gz":  append(append([]byte{}, gz...), "junk after the member"...),
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, content, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"gunzip", name}, {"gunzip", "-N", name}} {
			r := runKpipe(t, dir, nil, args...)
			if r.code != 1 || !strings.HasPrefix(r.stderr, "kpipe gunzip: "+name+": ") {
				t.Errorf("%v: status %d, stderr %q; want 1 and an error", args, r.code, r.stderr)
			}
			if names := dirNames(t, dir); len(names) != 1 || names[0] != name {
				t.Errorf("%v: the directory holds %v; want only the input", args, names)
			}
		}
		os.Remove(path)
	}
}

// TestGzipStdoutGone: a reader that goes away early ends the command
// quietly.
func TestGzipStdoutGone(t *testing.T) {
	cmd := kpipeCmd(t, "", "gunzip")
	cmd.Stdin = bytes.NewReader(systemGzip(t, "", bytes.Repeat([]byte("x"), 8<<20), "-c"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(io.Discard, out, 1000); err != nil {
		t.Fatal(err)
	}
	out.Close()
	// Exit status 1, as for any failure, and no death by SIGPIPE (a
	// signal gives ExitCode -1).
	var exit *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &exit) || exit.ExitCode() != exitFailure {
		t.Errorf("kpipe gunzip with its reader gone: %v; want exit status %d", err, exitFailure)
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr %q, want nothing when the reader goes away", stderr.String())
	}
}

// TestGzipUTF8Name: a file name in UTF-8 is stored byte for byte, as gzip(1)
// stores it, both ways: gzip -dN restores our name, and gunzip -N restores
// gzip(1)'s.
func TestGzipUTF8Name(t *testing.T) {
	const name = "café ☕.txt"
	dir := t.TempDir()
	for _, d := range []string{"ours", "theirs"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, d, name), []byte("naïve\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Ours, read by gzip(1).
	ours := filepath.Join(dir, "ours")
	mustSucceed(t, runKpipe(t, ours, nil, "gzip", name), "gzip", name)
	if err := os.Rename(filepath.Join(ours, name+".gz"), filepath.Join(ours, "x.gz")); err != nil {
		t.Fatal(err)
	}
	systemGzip(t, ours, nil, "-d", "-N", "x.gz")
	if got, err := os.ReadFile(filepath.Join(ours, name)); err != nil || string(got) != "naïve\n" {
		t.Errorf("gzip -dN of our file: %q, %v; want %s restored", got, err, name)
	}
	// gzip(1)'s, read by ours.
	theirs := filepath.Join(dir, "theirs")
	systemGzip(t, theirs, nil, "-N", name)
	if err := os.Rename(filepath.Join(theirs, name+".gz"), filepath.Join(theirs, "y.gz")); err != nil {
		t.Fatal(err)
	}
	mustSucceed(t, runKpipe(t, theirs, nil, "gunzip", "-N", "y.gz"), "gunzip", "-N")
	if got, err := os.ReadFile(filepath.Join(theirs, name)); err != nil || string(got) != "naïve\n" {
		t.Errorf("gunzip -N of gzip(1)'s file: %q, %v; want %s restored", got, err, name)
	}
}
