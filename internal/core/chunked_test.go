//go:build linux

package core

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http/httputil"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kpipe/kpipe/internal/testprog"
)

// tcpSink is the TCP destination of zDstKinds, whose every byte the test
// gets back.
func tcpSink(t *testing.T) (io.Writer, func() []byte) {
	for _, dk := range zDstKinds {
		if dk.name == "tcp" {
			return dk.open(t)
		}
	}
	t.Fatal("no tcp destination kind")
	return nil, nil
}

// testChunkOptions frames each chunk as "<n>" data "</n>", between "BEGIN"
// and "END", so that parseChunks can check the framing byte by byte.
func testChunkOptions(size int) ChunkOptions {
	return ChunkOptions{
		Prefix:       []byte("BEGIN"),
		Postfix:      []byte("END"),
		ChunkPrefix:  func(n int) []byte { return []byte("<" + strconv.Itoa(n) + ">") },
		ChunkPostfix: func(n int) []byte { return []byte("</" + strconv.Itoa(n) + ">") },
		ChunkSize:    size,
	}
}

// parseChunks undoes testChunkOptions' framing: it returns the body and the
// chunk sizes, or an error saying where the framing is wrong.
func parseChunks(out []byte) (body []byte, sizes []int, err error) {
	rest, ok := bytes.CutPrefix(out, []byte("BEGIN"))
	if !ok {
		return nil, nil, errors.New("no BEGIN")
	}
	for !bytes.Equal(rest, []byte("END")) {
		if len(rest) == 0 || rest[0] != '<' {
			return nil, nil, fmt.Errorf("at body byte %d: want '<' or END, have %q", len(body), head(rest))
		}
		end := bytes.IndexByte(rest, '>')
		if end < 0 {
			return nil, nil, fmt.Errorf("at body byte %d: unterminated chunk prefix", len(body))
		}
		n, err := strconv.Atoi(string(rest[1:end]))
		if err != nil || n <= 0 {
			return nil, nil, fmt.Errorf("at body byte %d: chunk prefix %q", len(body), rest[:end+1])
		}
		rest = rest[end+1:]
		post := "</" + strconv.Itoa(n) + ">"
		if len(rest) < n || !bytes.HasPrefix(rest[n:], []byte(post)) {
			return nil, nil, fmt.Errorf("at body byte %d: %d bytes announced, no %s after them", len(body), n, post)
		}
		body = append(body, rest[:n]...)
		sizes = append(sizes, n)
		rest = rest[n+len(post):]
	}
	return body, sizes, nil
}

func head(b []byte) []byte {
	return b[:min(len(b), 16)]
}

// TestSpliceChunksMatrix frames every size from every source kind into
// every destination kind, with the default chunk size and small ones, and
// checks the framing and the body byte by byte.
func TestSpliceChunksMatrix(t *testing.T) {
	for i, sk := range srcKinds {
		for j, ck := range zDstKinds {
			for _, size := range []int{0, 1, 65535, 1<<20 + 7} {
				for _, chunk := range []int{0, 1000, 7} {
					diagonal := i%len(zDstKinds) == j%len(srcKinds)
					if chunk != 0 && size > 65535 || chunk == 7 && size > 1 && (quickSizes() || !diagonal) {
						// Thousands of chunks of 7 bytes, several
						// system calls each: one pair per kind (a
						// diagonal of the matrix, which still meets
						// every source and every destination), and
						// none with quickSizes.
						continue
					}
					if quickSizes() && size > 65535 && !diagonal {
						// With quickSizes the 1 MiB size runs on the
						// diagonal only; the race detector slows each
						// pair to seconds.
						continue
					}
					sk, ck, size, chunk := sk, ck, size, chunk
					t.Run(fmt.Sprintf("%s->%s/%d/chunk%d", sk.name, ck.name, size, chunk), func(t *testing.T) {
						data := testData(size)
						src, srcWait := sk.open(t, data)
						dst, finish := ck.open(t)
						n, err := SpliceChunks(dst, src, testChunkOptions(chunk))
						if err != nil {
							t.Fatalf("SpliceChunks: %v", err)
						}
						if n != int64(size) {
							t.Fatalf("SpliceChunks returned %d, want %d", n, size)
						}
						if err := srcWait(); err != nil {
							t.Fatalf("feeding the source: %v", err)
						}
						checkChunks(t, finish(), data, chunk)
					})
				}
			}
		}
	}
}

// checkChunks checks framed output against the body it should carry.
func checkChunks(t *testing.T, out, data []byte, chunk int) []int {
	t.Helper()
	body, sizes, err := parseChunks(out)
	if err != nil {
		t.Fatalf("framing: %v", err)
	}
	if !bytes.Equal(body, data) {
		t.Fatalf("body of %d bytes differs from the %d bytes sent", len(body), len(data))
	}
	if chunk == 0 {
		chunk = DefaultChunkSize
	}
	for i, n := range sizes {
		if n > chunk {
			t.Fatalf("chunk %d has %d bytes, more than ChunkSize %d", i, n, chunk)
		}
	}
	return sizes
}

// TestSpliceChunksTrickle: a socket that delivers a few bytes at a time
// makes splices move fewer bytes than asked; every chunk must still announce
// exactly what follows it.
func TestSpliceChunksTrickle(t *testing.T) {
	data := testData(50000)
	c, s := tcpPair(t)
	go func() {
		defer c.CloseWrite()
		for off := 0; off < len(data); {
			n := min(len(data)-off, 1+off%997)
			if _, err := c.Write(data[off : off+n]); err != nil {
				return
			}
			off += n
			// Lockstep: the next piece leaves once SpliceChunks has
			// taken this one from the socket, so that chunks are pieces
			// whatever the machine's load.
			for queued(t, s) > 0 {
				time.Sleep(50 * time.Microsecond)
			}
		}
	}()
	dst, finish := tcpSink(t)
	n, err := SpliceChunks(dst, s, testChunkOptions(16<<10))
	if err != nil || n != int64(len(data)) {
		t.Fatalf("SpliceChunks = %d, %v; want %d", n, err, len(data))
	}
	sizes := checkChunks(t, finish(), data, 16<<10)
	// 16 KiB chunks would make 4; pieces of at most 997 bytes make 50 or
	// more.
	if len(sizes) < 50 {
		t.Errorf("%d chunks for a trickling source; want the short splices to show", len(sizes))
	}
}

// queued returns the bytes waiting in a socket's receive queue (FIONREAD).
func queued(t *testing.T, c syscall.Conn) int {
	rc, err := c.SyscallConn()
	if err != nil {
		t.Error(err)
		return 0
	}
	n := 0
	rc.Control(func(fd uintptr) { n, _ = unix.IoctlGetInt(int(fd), unix.SIOCINQ) })
	return n
}

// TestSpliceChunksAppendFallback: an O_APPEND destination refuses splice;
// the buffered path must write the same framing.
func TestSpliceChunksAppendFallback(t *testing.T) {
	data := testData(300000)
	name := tempFileRW(t).Name()
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, err := SpliceChunks(f, tempFileWith(t, data), testChunkOptions(100000))
	if err != nil || n != int64(len(data)) {
		t.Fatalf("SpliceChunks to an O_APPEND file = %d, %v; want %d", n, err, len(data))
	}
	out, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	checkChunks(t, out, data, 100000)
}

// TestSpliceChunksNoFraming: zero options frame nothing: the output is the
// body.
func TestSpliceChunksNoFraming(t *testing.T) {
	data := testData(200000)
	var buf bytes.Buffer
	n, err := SpliceChunks(&buf, tempFileWith(t, data), ChunkOptions{})
	if err != nil || n != int64(len(data)) || !bytes.Equal(buf.Bytes(), data) {
		t.Fatalf("SpliceChunks without framing = %d, %v; output equal: %v", n, err, bytes.Equal(buf.Bytes(), data))
	}
	if _, err := SpliceChunks(&buf, bytes.NewReader(data), ChunkOptions{ChunkSize: -1}); err == nil {
		t.Error("negative ChunkSize accepted")
	}
}

// TestChunkedTransfer checks the HTTP/1.1 chunked body with Go's own chunked
// reader, from a file to a socket and from memory to memory.
func TestChunkedTransfer(t *testing.T) {
	for _, size := range []int{0, 1, 65536, 1<<20 + 7} {
		data := testData(size)
		t.Run(fmt.Sprintf("file->tcp/%d", size), func(t *testing.T) {
			dst, finish := tcpSink(t)
			n, err := ChunkedTransfer(dst, tempFileWith(t, data))
			if err != nil || n != int64(size) {
				t.Fatalf("ChunkedTransfer = %d, %v; want %d", n, err, size)
			}
			checkHTTPChunked(t, finish(), data)
		})
		t.Run(fmt.Sprintf("bytes->bytes/%d", size), func(t *testing.T) {
			var buf bytes.Buffer
			n, err := ChunkedTransfer(&buf, bytes.NewReader(data))
			if err != nil || n != int64(size) {
				t.Fatalf("ChunkedTransfer = %d, %v; want %d", n, err, size)
			}
			checkHTTPChunked(t, buf.Bytes(), data)
		})
	}
}

// checkHTTPChunked decodes an HTTP/1.1 chunked body and compares it with
// data; the body must end with the last chunk and an empty trailer.
func checkHTTPChunked(t *testing.T, out, data []byte) {
	t.Helper()
	if !bytes.HasSuffix(out, []byte("0\r\n\r\n")) {
		t.Fatalf("chunked body ends with %q, want 0\\r\\n\\r\\n", out[max(0, len(out)-8):])
	}
	checkChunkedBody(t, out, data, "")
}

// checkChunkedBody decodes out, an HTTP/1.1 chunked body, compares it with
// data, and requires that what follows the last chunk is the trailer (its
// header lines) and the CRLF that ends it.
func checkChunkedBody(t *testing.T, out, data []byte, trailer string) {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(out))
	body, err := io.ReadAll(httputil.NewChunkedReader(br))
	if err != nil {
		t.Fatalf("decoding the chunked body: %v", err)
	}
	if !bytes.Equal(body, data) {
		t.Fatalf("decoded %d bytes, want the %d sent", len(body), len(data))
	}
	// The chunked reader stops after the last chunk.
	if rest, _ := io.ReadAll(br); string(rest) != trailer+"\r\n" {
		t.Fatalf("after the last chunk: %q, want %q", rest, trailer+"\r\n")
	}
}

// TestSpliceChunksPeerGone: a destination whose peer is gone ends the
// transfer with EPIPE or ECONNRESET, and the process lives.
func TestSpliceChunksPeerGone(t *testing.T) {
	for _, reset := range []bool{false, true} {
		dst := deadTCPConn(t, reset)
		_, err := ChunkedTransfer(dst, tempFileWith(t, testData(4<<20)))
		if !isPeerGone(err) {
			t.Errorf("ChunkedTransfer to a dead peer (reset %v): %v, want EPIPE or ECONNRESET", reset, err)
		}
	}
}

// TestSpliceChunksClosedSource: a source closed under a waiting transfer
// ends it with an error wrapping os.ErrClosed, not with a clean end.
func TestSpliceChunksClosedSource(t *testing.T) {
	p := newTestPipe(t)
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() {
		_, err := SpliceChunks(&out, p, testChunkOptions(0))
		done <- err
	}()
	waitParked(t, 1, "kpipe")
	p.Close()
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrClosed) {
			t.Fatalf("SpliceChunks after Close: %v, want os.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("SpliceChunks did not return after the source was closed")
	}
}

// TestSpliceChunksAllocs: the allocations of a call do not grow with the
// number of chunks (HTTP framing, file to socket).
func TestSpliceChunksAllocs(t *testing.T) {
	if testprog.Instrumented {
		t.Skip("the race detector allocates")
	}
	data := testData(1 << 20)
	f := tempFileWith(t, data)
	c, s := tcpPair(t)
	go io.Copy(io.Discard, s)
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		if _, err := ChunkedTransfer(c, f); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 2 {
		t.Errorf("ChunkedTransfer of 16 chunks: %.1f allocations per call, want at most 2", allocs)
	}
}
