package harness

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
)

// The load of the HTTP handlers sections runs in the harness process: a
// client of keep-alive connections that requests files and counts their
// bodies without decoding them.

// An httpTarget is a URL path the client requests, and what its body must
// be.
type httpTarget struct {
	path string // the URL path
	file string // the file whose bytes the body carries, uncompressed
	size int64  // its size
	crc  uint32 // its CRC-32 (IEEE), which a gzip body's trailer must give
}

// httpMakeFiles writes n files of size bytes into dir, named f000.txt,
// f001.txt, ..., each made of pieces pieces of size/pieces bytes of the
// file at src, the n*pieces pieces taken at even steps from src's start to
// its end (see sampleOffset), and returns their targets (URL /f000.txt,
// ...).
func httpMakeFiles(dir, src string, n, pieces int, size int64) ([]httpTarget, error) {
	in, err := os.Open(src)
	if err != nil {
		return nil, fmt.Errorf("HTTP files: %w", err)
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return nil, fmt.Errorf("HTTP files: %w", err)
	}
	if st.Size() < size {
		return nil, fmt.Errorf("HTTP files: %s holds %d bytes, fewer than a file's %d", src, st.Size(), size)
	}
	chunk := size / int64(pieces)
	targets := make([]httpTarget, n)
	for i := range targets {
		name := fmt.Sprintf("f%03d.txt", i)
		t := httpTarget{path: "/" + name, file: filepath.Join(dir, name)}
		f, err := os.Create(t.file)
		if err != nil {
			return nil, fmt.Errorf("HTTP files: %w", err)
		}
		sum := crc32.NewIEEE()
		w := io.MultiWriter(f, sum)
		for j := 0; j < pieces && err == nil; j++ {
			off := sampleOffset(i*pieces+j, n*pieces, st.Size(), chunk)
			var k int64
			k, err = io.Copy(w, io.NewSectionReader(in, off, chunk))
			t.size += k
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("HTTP files: %s: %w", t.file, err)
		}
		t.crc = sum.Sum32()
		targets[i] = t
	}
	return targets, nil
}

// newHTTPTransport returns the client's transport: at most conns
// connections, kept alive between requests, HTTP/1.1, no proxy, and no
// decoding of gzip bodies.
func newHTTPTransport(conns int) *http.Transport {
	return &http.Transport{
		DisableCompression:  true,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
	}
}

// httpRequests makes requests GET requests to the server at addr over
// conns keep-alive connections, asking for gzip (only) when gz is set and
// for identity otherwise: each connection takes the next request until
// they are all made, request i asking for targets[i%len(targets)]. It
// reads every body to its end without decoding it and checks it (see
// httpFetch). The sample's Bytes are the targets' uncompressed bytes, its
// Out the bodies' bytes when gz is set, its Ops the requests, its Elapsed
// the wall-clock time of them all, connection set-up included.
func httpRequests(ctx context.Context, addr string, conns int, gz bool, targets []httpTarget, requests int) (Sample, error) {
	if len(targets) == 0 {
		return Sample{}, errors.New("no URL to request")
	}
	tr := newHTTPTransport(conns)
	defer tr.CloseIdleConnections()
	// Each client goroutine's requests are made before the clock starts,
	// one per target, and sent again each time (once the last response's
	// body is closed), so building them is not timed.
	reqs := make([][]*http.Request, conns)
	for i := range reqs {
		reqs[i] = make([]*http.Request, len(targets))
		for j, t := range targets {
			req, err := newHTTPRequest(ctx, addr, t.path, gz)
			if err != nil {
				return Sample{}, err
			}
			reqs[i][j] = req
		}
	}
	var next atomic.Int64
	in, out := make([]int64, conns), make([]int64, conns)
	elapsed, err := timeLoad(func() error {
		return runConns(ctx, conns, func(ctx context.Context, i int) error {
			buf := make([]byte, 64<<10)
			for {
				n := next.Add(1) - 1
				if n >= int64(requests) {
					return nil
				}
				j := n % int64(len(targets))
				t := targets[j]
				body, err := httpFetch(tr, reqs[i][j], t, gz, buf)
				if err != nil {
					return err
				}
				in[i] += t.size
				out[i] += body
			}
		})
	})
	if err != nil {
		return Sample{}, err
	}
	s := Sample{Ops: int64(requests), Elapsed: elapsed}
	for i := range in {
		s.Bytes += in[i]
		if gz {
			s.Out += out[i]
		}
	}
	return s, nil
}

// newHTTPRequest returns a GET of path at addr, asking for gzip when gz is
// set and for identity otherwise. A request may be sent again once the
// body of its last response is closed.
func newHTTPRequest(ctx context.Context, addr, path string, gz bool) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return nil, err
	}
	encoding := "identity"
	if gz {
		encoding = "gzip"
	}
	req.Header.Set("Accept-Encoding", encoding)
	return req, nil
}

// httpGet sends req, made by newHTTPRequest with gz, through tr and checks
// that the answer is 200 with the Content-Encoding asked for ("gzip" when
// gz is set, none otherwise).
func httpGet(tr *http.Transport, req *http.Request, gz bool) (*http.Response, error) {
	encoding, want := "identity", ""
	if gz {
		encoding, want = "gzip", "gzip"
	}
	path := req.URL.Path
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	if got := resp.Header.Get("Content-Encoding"); resp.StatusCode != http.StatusOK || got != want {
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s (Accept-Encoding: %s): %s with Content-Encoding %q, want 200 with %q", path, encoding, resp.Status, got, want)
	}
	return resp, nil
}

// httpFetch sends req, a request for t, and reads the body to its end
// through buf, counting it without decoding it, and checks it: a gzip body
// (gz set) must end in the trailer of t's bytes (their CRC-32 and length),
// a plain one must be t's size. It returns the body's size.
func httpFetch(tr *http.Transport, req *http.Request, t httpTarget, gz bool, buf []byte) (int64, error) {
	resp, err := httpGet(tr, req, gz)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var tail gzipTail
	n, err := io.CopyBuffer(&tail, resp.Body, buf)
	if err != nil {
		return n, fmt.Errorf("GET %s: body after %d bytes: %w", t.path, n, err)
	}
	if !gz {
		if n != t.size {
			return n, fmt.Errorf("GET %s: %d bytes, want %d", t.path, n, t.size)
		}
		return n, nil
	}
	crc, size := binary.LittleEndian.Uint32(tail[:4]), binary.LittleEndian.Uint32(tail[4:])
	if n < 18 || crc != t.crc || size != uint32(t.size) {
		return n, fmt.Errorf("GET %s: a gzip body of %d bytes whose trailer gives CRC-32 %08x and length %d, want %08x and %d",
			t.path, n, crc, size, t.crc, uint32(t.size))
	}
	return n, nil
}

// gzipTail is an io.Writer that keeps the last 8 bytes written to it: the
// trailer of a gzip stream, the CRC-32 and the length (mod 2^32) of what it
// decodes to.
type gzipTail [8]byte

func (t *gzipTail) Write(b []byte) (int, error) {
	if len(b) >= len(t) {
		copy(t[:], b[len(b)-len(t):])
	} else {
		copy(t[:], t[len(b):])
		copy(t[len(t)-len(b):], b)
	}
	return len(b), nil
}

// httpVerify requests every target once, over one connection, and checks
// its body whole: decoded when gz is set, it must be the target's file.
func httpVerify(ctx context.Context, addr string, gz bool, targets []httpTarget) error {
	tr := newHTTPTransport(1)
	defer tr.CloseIdleConnections()
	for _, t := range targets {
		want, err := os.ReadFile(t.file)
		if err != nil {
			return err
		}
		req, err := newHTTPRequest(ctx, addr, t.path, gz)
		if err != nil {
			return err
		}
		resp, err := httpGet(tr, req, gz)
		if err != nil {
			return err
		}
		got, err := httpBody(resp.Body, gz)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("GET %s: %w", t.path, err)
		}
		if !bytes.Equal(got, want) {
			return fmt.Errorf("GET %s: the body (%d bytes once decoded) is not the file's %d bytes", t.path, len(got), len(want))
		}
	}
	return nil
}

// httpBody reads body whole, decoding it from gzip when gz is set.
func httpBody(body io.Reader, gz bool) ([]byte, error) {
	if !gz {
		return io.ReadAll(body)
	}
	zr, err := gzip.NewReader(body)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}
