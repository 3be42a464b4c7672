//go:build linux

package core

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestNoFDLeaks runs 1,500 rounds of mixed calls, successful and failing,
// and checks that the process holds exactly the descriptors it held before.
func TestNoFDLeaks(t *testing.T) {
	const rounds = 1500
	f := newLeakFixture(t)
	round := func(i int) error {
		c := leakRounds[i%len(leakRounds)]
		if err := c.run(f); err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		return nil
	}
	for i := range leakRounds { // warm up: lazily opened runtime descriptors
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

// leakRounds are the calls TestNoFDLeaks makes in turn.
var leakRounds = []struct {
	name string
	run  func(*leakFixture) error
}{
	{"copy_file_range", (*leakFixture).copyFileRange},
	{"sendfile", (*leakFixture).sendfile},
	{"splice through a pooled pipe", (*leakFixture).spliceViaPool},
	{"Splice and Tee around fresh pipes", (*leakFixture).spliceAndTee},
	{"argument errors", (*leakFixture).argumentErrors},
	{"peers gone: sendfile, splice via the pool, splice from a *Pipe", (*leakFixture).peersGone},
	{"deadlines", (*leakFixture).deadlines},
	{"os.Pipe endpoints", (*leakFixture).osPipes},
	{"O_APPEND: the refused splice falls back", (*leakFixture).appendOnly},
	{"endpoints without descriptors", (*leakFixture).memory},
	{"Close under a waiting call", (*leakFixture).closeUnderCall},
	{"pipe sizing and a *Pipe in a Copy", (*leakFixture).pipeSizing},
}

// A leakFixture holds the endpoints the rounds of TestNoFDLeaks share.
type leakFixture struct {
	data, chunk          []byte
	src, dst, appendFile *os.File
	sinkConn, feedConn   *net.TCPConn // the far end drains / sends forever
	dead, reset          *net.TCPConn // peers gone: closed, reset
	osR, osW             *os.File
}

func newLeakFixture(t *testing.T) *leakFixture {
	t.Helper()
	f := &leakFixture{data: testData(100_003)}
	f.chunk = f.data[:5000]
	f.src = tempFileWith(t, f.data)
	f.dst = tempFileRW(t)
	var err error
	f.appendFile, err = os.OpenFile(filepath.Join(t.TempDir(), "log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.appendFile.Close() })
	var sinkPeer, feedPeer *net.TCPConn
	f.sinkConn, sinkPeer = tcpPair(t)
	drained := discardAsync(sinkPeer)
	feedPeer, f.feedConn = tcpPair(t)
	stopFeed := writeForever(feedPeer, f.data)
	t.Cleanup(func() { stopFeed(); f.sinkConn.Close(); <-drained })
	f.dead = deadTCPConn(t, false)
	f.reset = deadTCPConn(t, true)
	f.osR, f.osW = osPipe(t)
	return f
}

func (f *leakFixture) copyFileRange() error {
	f.src.Seek(0, io.SeekStart)
	f.dst.Seek(0, io.SeekStart)
	if n, err := Copy(f.dst, f.src); n != int64(len(f.data)) || err != nil {
		return fmt.Errorf("Copy file->file = %d, %v", n, err)
	}
	return nil
}

func (f *leakFixture) sendfile() error {
	f.src.Seek(0, io.SeekStart)
	if n, err := Copy(f.sinkConn, &io.LimitedReader{R: f.src, N: 20_000}); n != 20_000 || err != nil {
		return fmt.Errorf("Copy file->tcp = %d, %v", n, err)
	}
	return nil
}

func (f *leakFixture) spliceViaPool() error {
	f.dst.Seek(0, io.SeekStart)
	if n, err := Copy(f.dst, &io.LimitedReader{R: f.feedConn, N: 20_000}); n != 20_000 || err != nil {
		return fmt.Errorf("Copy tcp->file = %d, %v", n, err)
	}
	return nil
}

func (f *leakFixture) spliceAndTee() error {
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
	f.src.Seek(0, io.SeekStart)
	if n, err := Splice(p, f.src, 4096); n != 4096 || err != nil {
		return fmt.Errorf("Splice file->pipe = %d, %v", n, err)
	}
	if n, err := Tee(q, p, 4096); n != 4096 || err != nil {
		return fmt.Errorf("Tee = %d, %v", n, err)
	}
	p.CloseWrite()
	f.dst.Seek(0, io.SeekStart)
	if n, err := Splice(f.dst, p, -1000); n != 4096 || err != nil {
		return fmt.Errorf("Splice pipe->file = %d, %v", n, err)
	}
	if n, err := Splice(f.sinkConn, q, 4096); n != 4096 || err != nil {
		return fmt.Errorf("Splice pipe->tcp = %d, %v", n, err)
	}
	return nil
}

func (f *leakFixture) argumentErrors() error {
	if _, err := Splice(f.dst, f.src, 10); !errors.Is(err, ErrNeedPipe) {
		return fmt.Errorf("Splice file->file: %v", err)
	}
	p, err := NewPipe()
	if err != nil {
		return err
	}
	defer p.Close()
	if _, err := Splice(p, bytes.NewReader(f.chunk), 10); !errors.Is(err, ErrNoFD) {
		return fmt.Errorf("Splice bytes->pipe: %v", err)
	}
	return nil
}

func (f *leakFixture) peersGone() error {
	f.src.Seek(0, io.SeekStart)
	if _, err := Copy(f.dead, f.src); !isPeerGone(err) {
		return fmt.Errorf("Copy file->dead: %v", err)
	}
	if _, err := Copy(f.reset, &io.LimitedReader{R: f.feedConn, N: 20_000}); !isPeerGone(err) {
		return fmt.Errorf("Copy tcp->reset: %v", err)
	}
	p, err := NewPipe()
	if err != nil {
		return err
	}
	defer p.Close()
	p.Write(f.chunk)
	if _, err := Splice(f.dead, p, 4096); !isPeerGone(err) {
		return fmt.Errorf("Splice pipe->dead: %v", err)
	}
	return nil
}

func (f *leakFixture) deadlines() error {
	p, err := NewPipe()
	if err != nil {
		return err
	}
	defer p.Close()
	p.SetDeadline(time.Now().Add(-time.Second))
	if _, err := Splice(f.dst, p, 10); !errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("Splice past a deadline: %v", err)
	}
	p.SetDeadline(time.Time{})
	f.src.Seek(0, io.SeekStart)
	if n, err := Copy(p, &io.LimitedReader{R: f.src, N: 10}); n != 10 || err != nil {
		return fmt.Errorf("Copy into a pipe after clearing its deadline = %d, %v", n, err)
	}
	return nil
}

func (f *leakFixture) osPipes() error {
	f.osW.Write(f.chunk)
	f.dst.Seek(0, io.SeekStart)
	if n, err := Copy(f.dst, &io.LimitedReader{R: f.osR, N: int64(len(f.chunk))}); n != int64(len(f.chunk)) || err != nil {
		return fmt.Errorf("Copy ospipe->file = %d, %v", n, err)
	}
	return nil
}

func (f *leakFixture) appendOnly() error {
	f.src.Seek(0, io.SeekStart)
	if n, err := Copy(f.appendFile, &io.LimitedReader{R: f.src, N: 5000}); n != 5000 || err != nil {
		return fmt.Errorf("Copy file->append = %d, %v", n, err)
	}
	if n, err := Copy(f.appendFile, &io.LimitedReader{R: f.feedConn, N: 5000}); n != 5000 || err != nil {
		return fmt.Errorf("Copy tcp->append = %d, %v", n, err)
	}
	return nil
}

func (f *leakFixture) memory() error {
	f.src.Seek(0, io.SeekStart)
	var buf bytes.Buffer
	if n, err := Copy(&buf, f.src); n != int64(len(f.data)) || err != nil {
		return fmt.Errorf("Copy file->bytes = %d, %v", n, err)
	}
	f.dst.Seek(0, io.SeekStart)
	if n, err := Copy(f.dst, bytes.NewReader(f.chunk)); n != int64(len(f.chunk)) || err != nil {
		return fmt.Errorf("Copy bytes->file = %d, %v", n, err)
	}
	return nil
}

func (f *leakFixture) closeUnderCall() error {
	p, err := NewPipe()
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() {
		_, err := Splice(f.dst, p, 10)
		done <- err
	}()
	p.Close()
	if err := <-done; !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("Splice from a pipe closed under it: %v", err)
	}
	return nil
}

func (f *leakFixture) pipeSizing() error {
	p, err := NewPipe()
	if err != nil {
		return err
	}
	defer p.Close()
	if _, err := p.SetCap(256 << 10); err != nil {
		return err
	}
	f.src.Seek(0, io.SeekStart)
	if n, err := Copy(p, f.src); n != int64(len(f.data)) || err != nil {
		return fmt.Errorf("Copy file->pipe = %d, %v", n, err)
	}
	p.CloseWrite()
	if n, err := Copy(io.Discard, p); n != int64(len(f.data)) || err != nil {
		return fmt.Errorf("Copy pipe->discard = %d, %v", n, err)
	}
	return nil
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
