//go:build linux

package core

import (
	"bytes"
	"context"
	"errors"
	"io"
	"syscall"
	"testing"
)

// TestFaultSIGPIPE writes, by every path kpipe has, into sockets whose peer
// has gone (closed or reset) and pipes whose reader has gone, in a child
// process: each call must return an error wrapping EPIPE (ECONNRESET where
// the kernel reports the reset), and the child must exit with status 0,
// not die of SIGPIPE.
func TestFaultSIGPIPE(t *testing.T) {
	if !inFaultChild(t) {
		runFaultChild(t, faultChild{})
		return
	}
	ctx := context.Background()
	eU, err := NewEngine(Config{Backend: BackendIOUring})
	if err != nil {
		t.Fatal(err)
	}
	defer eU.Close()
	data := testData(4 << 20)

	// gone is a destination whose reader has gone, and the check its
	// error must pass.
	type gone struct {
		name string
		w    io.Writer
		ok   func(error) bool
	}
	isEPIPE := func(err error) bool { return errors.Is(err, syscall.EPIPE) }
	dests := func(t *testing.T) []gone {
		r, w := osPipe(t)
		r.Close()
		p := newTestPipe(t)
		p.r.Close()
		u, peer := unixPair(t)
		peer.Close()
		return []gone{
			{"tcp-closed", deadTCPConn(t, false), isPeerGone},
			{"tcp-reset", deadTCPConn(t, true), isPeerGone},
			{"unix", u, isPeerGone},
			{"ospipe", w, isEPIPE},
			{"kpipe", p, isEPIPE},
		}
	}
	check := func(t *testing.T, what string, g gone, n int64, err error) {
		t.Helper()
		if !g.ok(err) {
			t.Errorf("%s into %s = %d, %v; want EPIPE or ECONNRESET", what, g.name, n, err)
		}
	}

	t.Run("Splice", func(t *testing.T) {
		for _, g := range dests(t) {
			if _, ok := g.w.(*Pipe); ok {
				continue // Splice from a *Pipe into a *Pipe: below
			}
			p := newTestPipe(t)
			feedAsync(t, p, data, func() { p.CloseWrite() }, func() { p.Close() })
			n, err := Splice(g.w, p, -(1 << 20))
			check(t, "Splice(*Pipe)", g, n, err)
		}
		g := dests(t)[4]
		n, err := Splice(g.w, tempFileWith(t, data), 1<<20)
		check(t, "Splice(file)", g, n, err)
	})
	t.Run("Copy", func(t *testing.T) {
		for _, sname := range []string{"file", "tcp", "pipe", "bytes.Reader"} {
			for _, g := range dests(t) {
				src, _ := findSrc(t, sname).open(t, data)
				n, err := Copy(g.w, src)
				check(t, "Copy("+sname+")", g, n, err)
			}
		}
	})
	for _, e := range []struct {
		name string
		ds   doubleSpliceFunc
		px   proxyFunc
	}{{"default", DoubleSplice, Proxy}, {eU.Backend(), eU.DoubleSplice, eU.Proxy}} {
		t.Run("DoubleSplice/"+e.name, func(t *testing.T) {
			for _, g := range dests(t) {
				if _, ok := g.w.(*Pipe); ok {
					continue // the engine writes to a duplicate: same as ospipe
				}
				n, err := e.ds(ctx, g.w, tempFileWith(t, data))
				check(t, "DoubleSplice", g, n, err)
			}
		})
		t.Run("Proxy/"+e.name, func(t *testing.T) {
			for _, reset := range []bool{false, true} {
				// a's peer sends 4 MiB and waits; b's peer is gone.
				aPeer, a := tcpPair(t)
				b := deadTCPConn(t, reset)
				feedAsync(t, aPeer, data, func() { aPeer.CloseWrite() }, func() { aPeer.Close() })
				x, y, err := e.px(ctx, a, b)
				if !isPeerGone(err) {
					t.Errorf("Proxy toward a vanished peer (reset %v) = %d, %d, %v; want EPIPE or ECONNRESET", reset, x, y, err)
				}
			}
		})
	}
	t.Run("SpliceChunks", func(t *testing.T) {
		for _, g := range dests(t) {
			n, err := ChunkedTransfer(g.w, tempFileWith(t, data))
			check(t, "ChunkedTransfer(file)", g, n, err)
		}
		for _, g := range dests(t) {
			n, err := SpliceChunks(g.w, bytes.NewReader(data), ChunkOptions{ChunkSize: 100_000})
			check(t, "SpliceChunks(bytes.Reader)", g, n, err)
		}
	})
	t.Run("Zlib", func(t *testing.T) {
		for _, g := range dests(t) {
			n, err := Gzip(g.w, tempFileWith(t, data), nil)
			check(t, "Gzip(file)", g, n, err)
			n, err = Deflate(g.w, bytes.NewReader(data))
			check(t, "Deflate(bytes.Reader)", g, n, err)
		}
	})
}
