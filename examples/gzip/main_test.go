package main

import (
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kpipe/kpipe/internal/testprog"
)

// TestMain runs main instead of the tests when the process is a child
// started by shell.
func TestMain(m *testing.M) { testprog.Main(m, main) }

// shell runs script with sh, where "$PROG" is this program, and returns its
// standard output and error and its exit status.
func shell(t *testing.T, script string) (stdout, stderr string, code int) {
	t.Helper()
	if _, err := exec.LookPath("gzip"); err != nil {
		t.Fatalf("gzip(1) is not installed: %v", err)
	}
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = append(os.Environ(), testprog.MainEnv+"=1", "PROG="+os.Args[0])
	return testprog.Run(t, cmd)
}

// TestArticlePipeline runs the article's `echo foobar | gzip-example |
// gunzip`, and the way back.
func TestArticlePipeline(t *testing.T) {
	if out, errOut, code := shell(t, `echo foobar | "$PROG" | gunzip`); out != "foobar\n" || code != 0 {
		t.Fatalf("echo foobar | gzip example | gunzip: %q, exit %d, stderr %q", out, code, errOut)
	}
	if out, errOut, code := shell(t, `echo foobar | gzip -c | "$PROG" -d`); out != "foobar\n" || code != 0 {
		t.Fatalf("echo foobar | gzip -c | gzip example -d: %q, exit %d, stderr %q", out, code, errOut)
	}
}

// TestLevelsAndFiles compresses a file at several levels and checks it with
// gzip(1), and decompresses gzip(1)'s output of it, through files and
// pipes.
func TestLevelsAndFiles(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, 3<<20)
	rand.Read(data[:1<<20]) // the rest stays zeros: it compresses
	src := filepath.Join(dir, "data")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, level := range []string{"1", "6", "9"} {
		script := `"$PROG" -l ` + level + ` < "` + src + `" > "` + src + `.gz" && gzip -t "` + src + `.gz" && gzip -dc "` + src + `.gz" | cmp - "` + src + `" && echo same`
		if out, errOut, code := shell(t, script); out != "same\n" || code != 0 {
			t.Fatalf("level %s: %q, exit %d, stderr %q", level, out, code, errOut)
		}
	}
	script := `gzip -c "` + src + `" | "$PROG" -d | cmp - "` + src + `" && echo same`
	if out, errOut, code := shell(t, script); out != "same\n" || code != 0 {
		t.Fatalf("gzip -c | example -d: %q, exit %d, stderr %q", out, code, errOut)
	}
}

// TestErrors checks the exit status and message of bad input and bad usage.
func TestErrors(t *testing.T) {
	cases := []struct {
		script string
		code   int
		msg    string
		output bool // data may come out before the error, as with gunzip
	}{
		{`echo not gzip | "$PROG" -d`, 1, "gzip: kpipe: invalid", false},
		{`echo foobar | gzip -c | head -c 20 | "$PROG" -d`, 1, "unexpected EOF", true},
		{`echo foobar | "$PROG" -l 42`, 2, "invalid level", false},
		{`echo foobar | "$PROG" extra`, 2, "usage", false},
		{`echo foobar | "$PROG" -x`, 2, "flag provided but not defined", false},
	}
	for _, c := range cases {
		out, errOut, code := shell(t, c.script)
		if code != c.code || !strings.Contains(errOut, c.msg) || (out != "" && !c.output) {
			t.Errorf("%s: exit %d, stderr %q, stdout %q; want exit %d and %q", c.script, code, errOut, out, c.code, c.msg)
		}
	}
}
