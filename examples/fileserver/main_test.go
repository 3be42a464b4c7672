package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runMainEnv makes the test binary behave as the fileserver command, so
// that the tests can run the real program as a child process. The server's
// own tests are in kphttp.
const runMainEnv = "KPIPE_FILESERVER_RUN_MAIN"

// TestMain runs main instead of the tests when the process is a child
// started by TestProgram.
func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// TestProgram runs the command on a directory, reads the address it
// announces and fetches a file with curl, compressed and not.
func TestProgram(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is not installed: run make deps")
	}
	dir := t.TempDir()
	want := []byte(strings.Repeat("kpipe file server\n", 1000))
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), want, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-listen", "127.0.0.1:0", "-dir", dir)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	lineCh := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lineCh <- line
	}()
	var line string
	select {
	case line = <-lineCh:
	case <-time.After(30 * time.Second):
		t.Fatal("the program announced no address within 30s")
	}
	_, url, ok := strings.Cut(strings.TrimSpace(line), " on ")
	if !ok || !strings.HasPrefix(url, "http://") {
		t.Fatalf("first line %q, want \"Serving DIR on http://ADDR/\"", line)
	}
	for _, args := range [][]string{{"--compressed"}, {}} {
		args = append([]string{"-sS", "--max-time", "30"}, append(args, url+"notes.txt")...)
		got, err := exec.Command("curl", args...).Output()
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("curl %v: %d bytes, %v; want the %d of the file", args, len(got), err, len(want))
		}
	}
}
