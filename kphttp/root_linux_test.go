package kphttp

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestFileServerNotRegular: a FIFO beneath the root is 404, at once (the
// open must not wait for a writer), and so is a directory named index.html.
func TestFileServerNotRegular(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "d", "index.html"), 0o755); err != nil {
		t.Fatal(err)
	}
	h := FileServer(dir)
	for _, p := range []string{"/fifo", "/d/"} {
		done := make(chan int, 1)
		go func() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", p, nil))
			done <- w.Code
		}()
		select {
		case code := <-done:
			if code != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404", p, code)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("GET %s: no answer in 10s", p)
		}
	}
}

// TestFileServerRootHeld: the root is held open, so renaming it away and
// putting another directory at its path does not change what is served.
func TestFileServerRootHeld(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "www")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "f.txt"), []byte("first\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := FileServer(dir)
	if err := os.Rename(dir, filepath.Join(base, "moved")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "f.txt"), []byte("second\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/f.txt", nil))
	if w.Code != 200 || w.Body.String() != "first\n" {
		t.Errorf("after the root was replaced: %d %q, want the first root's file", w.Code, w.Body)
	}
}
