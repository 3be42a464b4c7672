//go:build linux

package core

import (
	"bytes"
	"errors"
	"strings"
	"syscall"
	"testing"
)

// zSourceClass is which engine a source runs on at a level libdeflate has:
// "whole" when its size is known at the start (memory readers, a regular
// file), "stream" otherwise.
func zSourceClass(k srcKind) string {
	switch k.name {
	case "file", "bytes.Reader", "bytes.Buffer", "strings.Reader":
		return "whole"
	}
	return "stream"
}

// TestCompressionEngines: every source gives output that decodes to the
// input; sources of one class give the same bytes; where libdeflate runs,
// the two classes differ at levels 4 to 9 (the whole input went through it)
// and agree elsewhere. With Threads > 1 every source and thread count gives
// the same bytes.
func TestCompressionEngines(t *testing.T) {
	size := 2<<20 + 12345 // three blocks for the threads
	if testing.Short() {
		size = 1<<20 + 12345 // two
	}
	data := zData(size)
	withLD := strings.Contains(CompressionEngine(), "libdeflate")
	for _, f := range zFormats {
		for _, level := range []int{1, 5, 8, HuffmanOnly} {
			for _, threads := range []int{0, 2, 5} {
				c := Codec{Level: level, Threads: threads}
				outs := map[string][]byte{}
				for _, k := range zSrcKinds {
					src, wait := k.open(t, data)
					var buf bytes.Buffer
					n, err := f.codec(c, &buf, src)
					if werr := wait(); err != nil || werr != nil || n != int64(buf.Len()) {
						t.Fatalf("%s level %d threads %d from %s: n %d of %d, %v, feeder %v", f.name, level, threads, k.name, n, buf.Len(), err, werr)
					}
					if got, err := f.refExp(buf.Bytes()); err != nil || !bytes.Equal(got, data) {
						t.Fatalf("%s level %d threads %d from %s: does not decode to the input: %v", f.name, level, threads, k.name, err)
					}
					class := zSourceClass(k)
					if threads > 1 {
						class = "threads"
					}
					if prev, ok := outs[class]; ok && !bytes.Equal(prev, buf.Bytes()) {
						t.Errorf("%s level %d threads %d from %s: other bytes than another %s source", f.name, level, threads, k.name, class)
					}
					outs[class] = buf.Bytes()
				}
				if threads > 1 {
					continue
				}
				differ := !bytes.Equal(outs["whole"], outs["stream"])
				if want := withLD && level >= 4 && level <= 9; differ != want {
					t.Errorf("%s level %d: whole and streamed sources differ: %v, want %v (engine %s)", f.name, level, differ, want, CompressionEngine())
				}
			}
		}
	}
}

var errWriterFails = errors.New("this writer fails")

// failingWriter fails every Write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errWriterFails }

// TestCompressionThreadsGone: a compression on many threads that fails
// (its destination's reader gone) or that succeeds leaves no worker thread
// behind; a negative Threads is refused before anything is read.
func TestCompressionThreadsGone(t *testing.T) {
	data := zData(8 << 20)
	for _, level := range []int{4, 6, HuffmanOnly} {
		c := Codec{Level: level, Threads: 4}
		r, w := osPipe(t)
		r.Close()
		_, err := c.Gzip(w, bytes.NewReader(data), nil)
		if !errors.Is(err, syscall.EPIPE) {
			t.Errorf("level %d: into a pipe with no reader: %v, want EPIPE", level, err)
		}
		if n := zWorkers(); n != 0 {
			t.Errorf("level %d: %d worker threads alive after a failed compression", level, n)
		}
		// An io.Writer that fails: the C stream is given up, not failed.
		if _, err := c.Gzip(failingWriter{}, bytes.NewReader(data), nil); !errors.Is(err, errWriterFails) {
			t.Errorf("level %d: into a failing writer: %v", level, err)
		}
		if n := zWorkers(); n != 0 {
			t.Errorf("level %d: %d worker threads alive after a writer failed", level, n)
		}
		var buf bytes.Buffer
		if _, err := c.Gzip(&buf, bytes.NewReader(data), nil); err != nil {
			t.Fatal(err)
		}
		if n := zWorkers(); n != 0 {
			t.Errorf("level %d: %d worker threads alive after a compression", level, n)
		}
	}
	src := bytes.NewReader(data)
	if _, err := (Codec{Threads: -1}).Deflate(&bytes.Buffer{}, src); err == nil || src.Len() != len(data) {
		t.Errorf("Threads -1: %v, %d bytes read; want an error before any read", err, len(data)-src.Len())
	}
}
