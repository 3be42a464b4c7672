//go:build linux

package core

import (
	"bytes"
	"compress/gzip"
	"errors"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kpipe/kpipe/internal/testprog"
)

// Interop of Gzip and Gunzip with gzip(1) and compress/gzip, headers
// included.

// gzipDecompressCmd runs `gzip -dc` with stdin an os.Pipe that fill writes
// into, and returns what gzip printed.
func gzipDecompressCmd(t *testing.T, fill func(w *os.File) error) []byte {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command(needGzipCommand(t), "-dc")
	cmd.Stdin = r
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Start(); err != nil {
		w.Close()
		t.Fatal(err)
	}
	ferr := fill(w)
	w.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("gzip -dc: %v: %s", err, stderr.Bytes())
	}
	if ferr != nil {
		t.Fatalf("writing into gzip -dc: %v", ferr)
	}
	return out.Bytes()
}

// TestGzipToGzipCommand feeds Gzip's output, from a file into a pipe, to
// `gzip -dc` at several levels and sizes, and a stream of two members.
func TestGzipToGzipCommand(t *testing.T) {
	for _, size := range []int{0, 1, 64<<10 - 1, 1<<20 + 7} {
		for _, level := range []int{0, BestSpeed, BestCompression, HuffmanOnly} {
			data := zData(size)
			src := tempFileWith(t, data)
			var n int64
			got := gzipDecompressCmd(t, func(w *os.File) error {
				var err error
				n, err = Codec{Level: level}.Gzip(w, src, &GzipHeader{Name: "data.bin", OS: 3})
				return err
			})
			if n == 0 || !bytes.Equal(got, data) {
				t.Fatalf("size %d level %d: gzip -dc printed %d bytes, want %d (Gzip wrote %d)", size, level, len(got), len(data), n)
			}
		}
	}
	// Two members, the second from memory: gzip(1) prints both.
	got := gzipDecompressCmd(t, func(w *os.File) error {
		if _, err := Gzip(w, strings.NewReader("first\n"), nil); err != nil {
			return err
		}
		_, err := Gzip(w, bytes.NewReader([]byte("second\n")), nil)
		return err
	})
	if string(got) != "first\nsecond\n" {
		t.Fatalf("gzip -dc of two members printed %q", got)
	}
}

// TestGunzipFromGzipCommand decompresses what `gzip -c` writes into a
// pipe, from a named file (the name and mtime stored, with -N and by
// default), from a file with -n (nothing stored) and from standard input.
func TestGunzipFromGzipCommand(t *testing.T) {
	gz := needGzipCommand(t)
	data := zData(1<<20 + 7)
	dir := t.TempDir()
	path := filepath.Join(dir, "named.txt")
	mtime := time.Unix(1_600_000_000, 0)
	testprog.WriteFileAt(t, path, data, 0o600, mtime)
	cases := []struct {
		name     string
		args     []string
		stdin    bool
		wantName string
		wantTime time.Time
	}{
		{"-c", []string{"-c", path}, false, "named.txt", mtime},
		{"-cN", []string{"-c", "-N", "-9", path}, false, "named.txt", mtime},
		{"-cn", []string{"-c", "-n", "-1", path}, false, "", time.Time{}},
		{"stdin", []string{"-c"}, true, "", mtime}, // gzip(1) stores a regular file stdin's mtime
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(gz, c.args...)
			if c.stdin {
				f, err := os.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				cmd.Stdin = f
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			hdr := GzipHeader{Name: "stale", Comment: "stale"}
			n, err := Gunzip(&buf, out, &hdr)
			if werr := cmd.Wait(); werr != nil {
				t.Fatalf("gzip: %v: %s", werr, stderr.Bytes())
			}
			if err != nil || n != int64(len(data)) || !bytes.Equal(buf.Bytes(), data) {
				t.Fatalf("Gunzip = %d, %v; want %d bytes equal to the file", n, err, len(data))
			}
			if hdr.Name != c.wantName || hdr.Comment != "" || !hdr.ModTime.Equal(c.wantTime) || hdr.OS != 3 || hdr.Extra != nil {
				t.Fatalf("header %+v; want name %q, mtime %v, OS 3", hdr, c.wantName, c.wantTime)
			}
		})
	}
}

// latin1Header has a field of every kind, non-ASCII Latin-1 text included.
var latin1Header = GzipHeader{
	Name:    "naïve café.txt",
	Comment: "ça va ± ÿ",
	ModTime: time.Unix(1_700_000_000, 0),
	Extra:   []byte{'K', 'P', 4, 0, 1, 2, 3, 4},
	OS:      11,
}

func checkSameHeader(t *testing.T, got, want GzipHeader) {
	t.Helper()
	if got.Name != want.Name || got.Comment != want.Comment || !got.ModTime.Equal(want.ModTime) ||
		!bytes.Equal(got.Extra, want.Extra) || (got.Extra == nil) != (want.Extra == nil) || got.OS != want.OS {
		t.Fatalf("header\n%+v, want\n%+v", got, want)
	}
}

func toStdHeader(h GzipHeader) gzip.Header {
	return gzip.Header{Name: h.Name, Comment: h.Comment, ModTime: h.ModTime, Extra: h.Extra, OS: h.OS}
}

func fromStdHeader(h gzip.Header) GzipHeader {
	return GzipHeader{Name: h.Name, Comment: h.Comment, ModTime: h.ModTime, Extra: h.Extra, OS: h.OS}
}

// TestGzipHeaderCompressGzip round-trips headers through compress/gzip in
// both directions, and checks that Gzip writes the very header bytes
// compress/gzip writes for the same fields.
func TestGzipHeaderCompressGzip(t *testing.T) {
	data := zData(10_000)
	headers := []GzipHeader{
		latin1Header,
		{},
		{Name: "only-a-name"},
		{Extra: []byte{}, OS: 255},
		{Comment: strings.Repeat("c", 500), ModTime: time.Unix(1, 0), OS: 3},
	}
	for i, h := range headers {
		// kpipe -> compress/gzip
		var buf bytes.Buffer
		if _, err := Gzip(&buf, bytes.NewReader(data), &h); err != nil {
			t.Fatalf("header %d: Gzip: %v", i, err)
		}
		out, std, err := refGunzip(buf.Bytes())
		if err != nil || !bytes.Equal(out, data) {
			t.Fatalf("header %d: compress/gzip read %d bytes, %v", i, len(out), err)
		}
		checkSameHeader(t, fromStdHeader(std), h)
		ref := refGzip(t, data, ptr(toStdHeader(h)))
		hlen := len(ref) - len(refGzip(t, data, &gzip.Header{OS: h.OS})) + 10
		if !bytes.Equal(buf.Bytes()[:hlen], ref[:hlen]) {
			t.Fatalf("header %d: Gzip wrote header % x, compress/gzip % x", i, buf.Bytes()[:hlen], ref[:hlen])
		}

		// compress/gzip -> kpipe
		var got GzipHeader
		var back bytes.Buffer
		if n, err := Gunzip(&back, bytes.NewReader(ref), &got); err != nil || n != int64(len(data)) || !bytes.Equal(back.Bytes(), data) {
			t.Fatalf("header %d: Gunzip = %d, %v", i, n, err)
		}
		checkSameHeader(t, got, h)
	}

	// No header: what gzip(1) writes.
	var buf bytes.Buffer
	if _, err := Gzip(&buf, bytes.NewReader(data), nil); err != nil {
		t.Fatal(err)
	}
	_, std, err := refGunzip(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	checkSameHeader(t, fromStdHeader(std), GzipHeader{OS: 3})
}

func ptr[T any](v T) *T { return &v }

// TestGzipHeaderRejected checks that headers that cannot be written fail
// with ErrHeader before anything is read or written.
func TestGzipHeaderRejected(t *testing.T) {
	bad := []GzipHeader{
		{Name: "Ā, beyond Latin-1"},
		{Comment: "a\x00b"},
		{Name: "invalid UTF-8 \xff"},
		{Name: strings.Repeat("n", 4097)},
		{Comment: strings.Repeat("é", 4097)},
		{Extra: make([]byte, 65536)},
		{ModTime: time.Date(2107, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for i, h := range bad {
		src := strings.NewReader("data")
		var dst bytes.Buffer
		n, err := Gzip(&dst, src, &h)
		if !errors.Is(err, ErrHeader) || n != 0 || dst.Len() != 0 || src.Len() != 4 {
			t.Errorf("header %d: Gzip = %d, %v, wrote %d, read %d; want ErrHeader, nothing moved", i, n, err, dst.Len(), 4-src.Len())
		}
	}
	// The limits themselves are fine, and a time before 1970 means none.
	ok := GzipHeader{Name: strings.Repeat("n", 4096), Comment: strings.Repeat("é", 4096), Extra: make([]byte, 65535),
		ModTime: time.Unix(-5, 0)}
	var dst bytes.Buffer
	if _, err := Gzip(&dst, strings.NewReader("data"), &ok); err != nil {
		t.Fatalf("Gzip with fields at their limits: %v", err)
	}
	var got GzipHeader
	var out bytes.Buffer
	if _, err := Gunzip(&out, &dst, &got); err != nil || out.String() != "data" {
		t.Fatalf("Gunzip = %q, %v", out.String(), err)
	}
	ok.ModTime = time.Time{}
	checkSameHeader(t, got, ok)
}

// TestGunzipHeaderCRC reads members whose header has an FHCRC, right and
// wrong; compress/gzip never writes one.
func TestGunzipHeaderCRC(t *testing.T) {
	member := refGzip(t, []byte("payload"), &gzip.Header{Name: "n"})
	withCRC := func(flip bool) []byte {
		// The header is 10 bytes and "n\x00".
		h := append([]byte(nil), member[:12]...)
		h[3] |= 0x02
		c := crc32.ChecksumIEEE(h)
		if flip {
			c ^= 1
		}
		h = append(h, byte(c), byte(c>>8))
		return append(h, member[12:]...)
	}
	var out bytes.Buffer
	var hdr GzipHeader
	if n, err := Gunzip(&out, bytes.NewReader(withCRC(false)), &hdr); err != nil || out.String() != "payload" || hdr.Name != "n" {
		t.Fatalf("Gunzip with a good header CRC = %d, %v, %q, name %q", n, err, out.String(), hdr.Name)
	}
	out.Reset()
	if _, err := Gunzip(&out, bytes.NewReader(withCRC(true)), nil); !errors.Is(err, ErrHeader) || out.Len() != 0 {
		t.Fatalf("Gunzip with a bad header CRC: %v, %d bytes out; want ErrHeader, nothing", err, out.Len())
	}
}
