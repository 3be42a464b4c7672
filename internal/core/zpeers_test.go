//go:build linux

package core

import (
	"bytes"
	"compress/gzip"
	"io"
	"os/exec"
	"testing"
)

// Cross-checks with the other gzip implementations on the machine: what
// every kpipe engine writes, each of them reads; what each of them writes,
// Gunzip reads. make deps installs them all (gzip, pigz, isal's igzip,
// libdeflate-tools, python3).

// zPeerFilter runs a command with stdin and returns its standard output,
// failing the test when the program is missing or fails.
func zPeerFilter(t *testing.T, stdin []byte, name string, args ...string) []byte {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed (make deps installs it): %v", name, err)
	}
	cmd := exec.Command(path, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v: %s", name, args, err, stderr.Bytes())
	}
	return out.Bytes()
}

const pythonGunzip = "import gzip, sys; sys.stdout.buffer.write(gzip.decompress(sys.stdin.buffer.read()))"
const pythonGzip = "import gzip, sys; sys.stdout.buffer.write(gzip.compress(sys.stdin.buffer.read(), 9))"

// zPeerDecoders decode gzip data into what it holds.
var zPeerDecoders = []struct {
	name   string
	decode func(t *testing.T, comp []byte) []byte
}{
	{"gzip -d", func(t *testing.T, comp []byte) []byte { return zPeerFilter(t, comp, "gzip", "-dc") }},
	{"igzip -d", func(t *testing.T, comp []byte) []byte { return zPeerFilter(t, comp, "igzip", "-dc") }},
	{"pigz -d", func(t *testing.T, comp []byte) []byte { return zPeerFilter(t, comp, "pigz", "-dc") }},
	{"libdeflate-gunzip", func(t *testing.T, comp []byte) []byte {
		return zPeerFilter(t, comp, "libdeflate-gunzip", "-c")
	}},
	{"python3 gzip", func(t *testing.T, comp []byte) []byte {
		return zPeerFilter(t, comp, "python3", "-c", pythonGunzip)
	}},
	{"compress/gzip", func(t *testing.T, comp []byte) []byte {
		zr, err := gzip.NewReader(bytes.NewReader(comp))
		if err != nil {
			t.Fatalf("compress/gzip: %v", err)
		}
		zr.Multistream(false) // one member: what a browser reads
		out, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("compress/gzip: %v", err)
		}
		return out
	}},
}

// TestGzipReadByPeers: the output of every engine and path (ISA-L, whole
// input on libdeflate, streamed zlib, many threads, Huffman only) is one
// member that every peer decodes to the input.
func TestGzipReadByPeers(t *testing.T) {
	data := zData(2<<20 + 4097)
	cases := []struct {
		name string
		c    Codec
		src  func() io.Reader
	}{
		{"level 1", Codec{Level: 1}, func() io.Reader { return tempFileWith(t, data) }},
		{"level 6 file", Codec{}, func() io.Reader { return tempFileWith(t, data) }},
		{"level 6 stream", Codec{}, func() io.Reader { return plainReader{bytes.NewReader(data)} }},
		{"level 6 threads", Codec{Threads: 2}, func() io.Reader { return bytes.NewReader(data) }},
		{"level 9 memory", Codec{Level: 9}, func() io.Reader { return bytes.NewReader(data) }},
		{"huffman only threads", Codec{Level: HuffmanOnly, Threads: 3}, func() io.Reader { return bytes.NewReader(data) }},
	}
	for _, c := range cases {
		var comp bytes.Buffer
		if _, err := c.c.Gzip(&comp, c.src(), nil); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for _, d := range zPeerDecoders {
			if got := d.decode(t, comp.Bytes()); !bytes.Equal(got, data) {
				t.Errorf("%s, read by %s: %d bytes, not the input (%d bytes)", c.name, d.name, len(got), len(data))
			}
		}
	}
}

// TestGunzipReadsPeers: what every peer writes, Gunzip decodes, from a
// file and from a stream, on every engine.
func TestGunzipReadsPeers(t *testing.T) {
	data := zData(2<<20 + 4097)
	encoders := []struct {
		name string
		comp func() []byte
	}{
		{"gzip -6", func() []byte { return zPeerFilter(t, data, "gzip", "-6", "-c") }},
		{"igzip -3", func() []byte { return zPeerFilter(t, data, "igzip", "-3", "-c") }},
		{"pigz -6 -p 2", func() []byte { return zPeerFilter(t, data, "pigz", "-6", "-p", "2", "-c") }},
		{"libdeflate-gzip -12", func() []byte { return zPeerFilter(t, data, "libdeflate-gzip", "-12", "-c") }},
		{"python3 gzip", func() []byte { return zPeerFilter(t, data, "python3", "-c", pythonGzip) }},
		{"compress/gzip", func() []byte { return refGzip(t, data, nil) }},
	}
	for _, e := range encoders {
		comp := e.comp()
		for _, src := range []io.Reader{tempFileWith(t, comp), plainReader{bytes.NewReader(comp)}} {
			var out bytes.Buffer
			n, err := Gunzip(&out, src, nil)
			if err != nil || n != int64(len(data)) || !bytes.Equal(out.Bytes(), data) {
				t.Errorf("%s from %T: %d bytes, %v", e.name, src, n, err)
			}
		}
	}
}
