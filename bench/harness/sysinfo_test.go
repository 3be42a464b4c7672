package harness

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestReadSysInfo(t *testing.T) {
	info := ReadSysInfo()
	out, err := exec.Command("uname", "-r").Output()
	if err != nil {
		t.Fatalf("uname -r: %v", err)
	}
	if want := strings.TrimSpace(string(out)); info.Kernel != want {
		t.Errorf("Kernel = %q, uname -r says %q", info.Kernel, want)
	}
	if info.Go != runtime.Version() {
		t.Errorf("Go = %q, want %q", info.Go, runtime.Version())
	}
	if info.CPUs != runtime.NumCPU() {
		t.Errorf("CPUs = %d, want %d", info.CPUs, runtime.NumCPU())
	}
	if info.Zlib == "" || info.Zlib == unknown {
		t.Errorf("Zlib = %q", info.Zlib)
	}
	if info.Backend != "poll" && info.Backend != "io_uring" {
		t.Errorf("Backend = %q", info.Backend)
	}
	if info.Date.IsZero() {
		t.Error("no date")
	}
	t.Logf("%+v", info)
}

func TestFileKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "facts")
	facts := "processor\t: 0\nmodel name\t: Some  CPU\nmodel name\t: Other\nPRETTY_NAME=\"X 1\"\n"
	if err := os.WriteFile(path, []byte(facts), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path, sep, key, want string
		ok                   bool
	}{
		{path, ":", "model name", " Some  CPU", true},
		{path, "=", "PRETTY_NAME", `"X 1"`, true},
		{path, ":", "MemTotal", "", false},
		{path + "-missing", ":", "model name", "", false},
	} {
		if got, ok := fileKey(c.path, c.sep, c.key); got != c.want || ok != c.ok {
			t.Errorf("fileKey(%s, %q, %q) = %q, %v, want %q, %v", filepath.Base(c.path), c.sep, c.key, got, ok, c.want, c.ok)
		}
	}
}
