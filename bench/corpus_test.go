package bench

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteTarDeterministic archives a small tree twice, with a file touched
// in between, and expects the same bytes, with fixed times and owners.
func TestWriteTarDeterministic(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{
		"b/z.txt": "zzz",
		"b/a.txt": "aaa",
		"a.go":    "package a\n",
	} {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var first, second bytes.Buffer
	if err := writeTar(&first, dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(dir, "a.go"), corpusTime, corpusTime.AddDate(1, 0, 0)); err != nil {
		t.Fatal(err)
	}
	if err := writeTar(&second, dir); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Fatal("two tars of the same tree differ")
	}

	var names []string
	tr := tar.NewReader(&first)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !hdr.ModTime.Equal(corpusTime) || hdr.Uid != 0 || hdr.Gid != 0 || hdr.Uname != "" || hdr.Gname != "" {
			t.Errorf("%s: time %v, owner %d/%d %q/%q", hdr.Name, hdr.ModTime, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname)
		}
		names = append(names, hdr.Name)
	}
	want := []string{"go/src/", "go/src/a.go", "go/src/b/", "go/src/b/a.txt", "go/src/b/z.txt"}
	if len(names) != len(want) {
		t.Fatalf("entries %q, want %q", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("entries %q, want %q", names, want)
		}
	}
}
