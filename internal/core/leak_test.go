//go:build linux

package core

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestNoFDLeaks runs 1,500 rounds of mixed calls, successful and failing,
// and checks that the process holds exactly the descriptors it held before.
func TestNoFDLeaks(t *testing.T) {
	const rounds = 1500
	data := testData(100_003)
	src := tempFileWith(t, data)
	dst := tempFileRW(t)
	appendFile, err := os.OpenFile(filepath.Join(t.TempDir(), "log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { appendFile.Close() })

	// A connection whose far end drains whatever arrives, and one whose far
	// end sends forever.
	sinkConn, sinkPeer := tcpPair(t)
	drained := discardAsync(sinkPeer)
	feedPeer, feedConn := tcpPair(t)
	stopFeed := writeForever(feedPeer, data)
	t.Cleanup(func() { stopFeed(); sinkConn.Close(); <-drained })
	dead := deadTCPConn(t, false)
	reset := deadTCPConn(t, true)
	osR, osW := osPipe(t)
	chunk := data[:5000]

	round := func(i int) error {
		switch i % 12 {
		case 0: // copy_file_range
			src.Seek(0, io.SeekStart)
			dst.Seek(0, io.SeekStart)
			if n, err := Copy(dst, src); n != int64(len(data)) || err != nil {
				return fmt.Errorf("Copy file->file = %d, %v", n, err)
			}
		case 1: // sendfile
			src.Seek(0, io.SeekStart)
			if n, err := Copy(sinkConn, &io.LimitedReader{R: src, N: 20_000}); n != 20_000 || err != nil {
				return fmt.Errorf("Copy file->tcp = %d, %v", n, err)
			}
		case 2: // splice through a pooled pipe
			dst.Seek(0, io.SeekStart)
			if n, err := Copy(dst, &io.LimitedReader{R: feedConn, N: 20_000}); n != 20_000 || err != nil {
				return fmt.Errorf("Copy tcp->file = %d, %v", n, err)
			}
		case 3: // Splice and Tee around fresh pipes
			p, err := NewPipe()
			if err != nil {
				return err
			}
			defer p.Close()
			q, err := NewPipe()
			if err != nil {
				return err
			}
			defer q.Close()
			src.Seek(0, io.SeekStart)
			if n, err := Splice(p, src, 4096); n != 4096 || err != nil {
				return fmt.Errorf("Splice file->pipe = %d, %v", n, err)
			}
			if n, err := Tee(q, p, 4096); n != 4096 || err != nil {
				return fmt.Errorf("Tee = %d, %v", n, err)
			}
			p.CloseWrite()
			dst.Seek(0, io.SeekStart)
			if n, err := Splice(dst, p, -1000); n != 4096 || err != nil {
				return fmt.Errorf("Splice pipe->file = %d, %v", n, err)
			}
			if n, err := Splice(sinkConn, q, 4096); n != 4096 || err != nil {
				return fmt.Errorf("Splice pipe->tcp = %d, %v", n, err)
			}
		case 4: // argument errors
			if _, err := Splice(dst, src, 10); !errors.Is(err, ErrNeedPipe) {
				return fmt.Errorf("Splice file->file: %v", err)
			}
			p, err := NewPipe()
			if err != nil {
				return err
			}
			defer p.Close()
			if _, err := Splice(p, bytes.NewReader(chunk), 10); !errors.Is(err, ErrNoFD) {
				return fmt.Errorf("Splice bytes->pipe: %v", err)
			}
		case 5: // peers gone: sendfile, splice via the pool, splice from a *Pipe
			src.Seek(0, io.SeekStart)
			if _, err := Copy(dead, src); !isPeerGone(err) {
				return fmt.Errorf("Copy file->dead: %v", err)
			}
			if _, err := Copy(reset, &io.LimitedReader{R: feedConn, N: 20_000}); !isPeerGone(err) {
				return fmt.Errorf("Copy tcp->reset: %v", err)
			}
			p, err := NewPipe()
			if err != nil {
				return err
			}
			defer p.Close()
			p.Write(chunk)
			if _, err := Splice(dead, p, 4096); !isPeerGone(err) {
				return fmt.Errorf("Splice pipe->dead: %v", err)
			}
		case 6: // deadlines
			p, err := NewPipe()
			if err != nil {
				return err
			}
			defer p.Close()
			p.SetDeadline(time.Now().Add(-time.Second))
			if _, err := Splice(dst, p, 10); !errors.Is(err, os.ErrDeadlineExceeded) {
				return fmt.Errorf("Splice past a deadline: %v", err)
			}
			p.SetDeadline(time.Time{})
			src.Seek(0, io.SeekStart)
			if n, err := Copy(p, &io.LimitedReader{R: src, N: 10}); n != 10 || err != nil {
				return fmt.Errorf("Copy into a pipe after clearing its deadline = %d, %v", n, err)
			}
		case 7: // os.Pipe endpoints
			osW.Write(chunk)
			dst.Seek(0, io.SeekStart)
			if n, err := Copy(dst, &io.LimitedReader{R: osR, N: int64(len(chunk))}); n != int64(len(chunk)) || err != nil {
				return fmt.Errorf("Copy ospipe->file = %d, %v", n, err)
			}
		case 8: // O_APPEND: the refused splice falls back
			src.Seek(0, io.SeekStart)
			if n, err := Copy(appendFile, &io.LimitedReader{R: src, N: 5000}); n != 5000 || err != nil {
				return fmt.Errorf("Copy file->append = %d, %v", n, err)
			}
			if n, err := Copy(appendFile, &io.LimitedReader{R: feedConn, N: 5000}); n != 5000 || err != nil {
				return fmt.Errorf("Copy tcp->append = %d, %v", n, err)
			}
		case 9: // endpoints without descriptors
			src.Seek(0, io.SeekStart)
			var buf bytes.Buffer
			if n, err := Copy(&buf, src); n != int64(len(data)) || err != nil {
				return fmt.Errorf("Copy file->bytes = %d, %v", n, err)
			}
			dst.Seek(0, io.SeekStart)
			if n, err := Copy(dst, bytes.NewReader(chunk)); n != int64(len(chunk)) || err != nil {
				return fmt.Errorf("Copy bytes->file = %d, %v", n, err)
			}
		case 10: // Close under a waiting call
			p, err := NewPipe()
			if err != nil {
				return err
			}
			done := make(chan error, 1)
			go func() {
				_, err := Splice(dst, p, 10)
				done <- err
			}()
			p.Close()
			if err := <-done; !errors.Is(err, os.ErrClosed) {
				return fmt.Errorf("Splice from a pipe closed under it: %v", err)
			}
		case 11: // pipe sizing and a *Pipe in a Copy
			p, err := NewPipe()
			if err != nil {
				return err
			}
			defer p.Close()
			if _, err := p.SetCap(256 << 10); err != nil {
				return err
			}
			src.Seek(0, io.SeekStart)
			if n, err := Copy(p, src); n != int64(len(data)) || err != nil {
				return fmt.Errorf("Copy file->pipe = %d, %v", n, err)
			}
			p.CloseWrite()
			if n, err := Copy(io.Discard, p); n != int64(len(data)) || err != nil {
				return fmt.Errorf("Copy pipe->discard = %d, %v", n, err)
			}
		}
		return nil
	}

	for i := 0; i < 12; i++ { // warm up: lazily opened runtime descriptors
		if err := round(i); err != nil {
			t.Fatal(err)
		}
	}
	before := openFDs(t)
	for i := 0; i < rounds; i++ {
		if err := round(i); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		if i%100 == 99 {
			if n := drainPipePool(); n > pipePoolMax {
				t.Fatalf("the pipe pool held %d idle pipes, more than %d", n, pipePoolMax)
			}
		}
	}
	if after := openFDs(t); after != before {
		t.Fatalf("%d rounds changed the open descriptors from %d to %d", rounds, before, after)
	}
}

// TestPoolPipeDiscardedAfterFailure checks that a pooled pipe left holding a
// failed transfer's bytes is closed, not handed to the next transfer.
func TestPoolPipeDiscardedAfterFailure(t *testing.T) {
	drainPipePool()
	before := openFDs(t)
	dead := deadTCPConn(t, true)
	c, s := tcpPair(t)
	msg := testData(50_000)
	c.Write(msg)
	c.CloseWrite()
	// The pooled pipe takes bytes from s, then the destination fails.
	if _, err := Copy(dead, s); !isPeerGone(err) {
		t.Fatalf("Copy into a reset connection: %v", err)
	}
	if n := drainPipePool(); n != 0 {
		t.Fatalf("%d pipes returned to the pool after a failed transfer", n)
	}
	// The next transfer through the pool carries only its own bytes.
	c2, s2 := tcpPair(t)
	c2.Write([]byte("clean"))
	c2.CloseWrite()
	out := tempFileRW(t)
	if n, err := Copy(out, s2); n != 5 || err != nil {
		t.Fatalf("Copy = %d, %v; want 5, nil", n, err)
	}
	if got := fileContents(t, out); string(got) != "clean" {
		t.Fatalf("destination holds %q, want %q", got, "clean")
	}
	for _, conn := range []interface{ Close() error }{dead, c, s, c2, s2, out} {
		conn.Close()
	}
	if after := openFDs(t); after != before {
		t.Fatalf("open descriptors went from %d to %d", before, after)
	}
}
