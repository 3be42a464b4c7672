//go:build linux

package core

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestNewPipeFlags checks that both ends are close-on-exec, non-blocking and
// opened in the right direction, as fcntl and /proc/self/fdinfo see them.
func TestNewPipeFlags(t *testing.T) {
	p := newTestPipe(t)
	for _, end := range []struct {
		name string
		f    *os.File
		mode int
	}{{"read end", p.r, unix.O_RDONLY}, {"write end", p.w, unix.O_WRONLY}} {
		fl, fdfl := fdFlags(t, end.f)
		if fl&unix.O_NONBLOCK == 0 {
			t.Errorf("%s: O_NONBLOCK not set (flags %#o)", end.name, fl)
		}
		if fdfl&unix.FD_CLOEXEC == 0 {
			t.Errorf("%s: FD_CLOEXEC not set", end.name)
		}
		if fl&unix.O_ACCMODE != end.mode {
			t.Errorf("%s: access mode %#o, want %#o", end.name, fl&unix.O_ACCMODE, end.mode)
		}
		// The kernel's own account: fdinfo's flags include O_CLOEXEC.
		var fd uintptr
		rc, _ := end.f.SyscallConn()
		rc.Control(func(s uintptr) { fd = s })
		info, err := os.ReadFile("/proc/self/fdinfo/" + strconv.Itoa(int(fd)))
		if err != nil {
			t.Fatal(err)
		}
		var flags int64 = -1
		for _, line := range strings.Split(string(info), "\n") {
			if v, ok := strings.CutPrefix(line, "flags:"); ok {
				flags, _ = strconv.ParseInt(strings.TrimSpace(v), 8, 64)
			}
		}
		if flags < 0 || flags&unix.O_CLOEXEC == 0 || flags&unix.O_NONBLOCK == 0 {
			t.Errorf("%s: fdinfo flags %#o, want O_CLOEXEC|O_NONBLOCK", end.name, flags)
		}
		var st unix.Stat_t
		rc.Control(func(s uintptr) { err = unix.Fstat(int(s), &st) })
		if err != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
			t.Errorf("%s: not a pipe (mode %#o, %v)", end.name, st.Mode, err)
		}
	}
}

// TestPipeReadWrite moves data through a Pipe with Read and Write from two
// goroutines.
func TestPipeReadWrite(t *testing.T) {
	data := testData(3<<20 + 5)
	p := newTestPipe(t)
	got := drainAsync(p)
	n, err := p.Write(data)
	if n != len(data) || err != nil {
		t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(data))
	}
	if err := p.CloseWrite(); err != nil {
		t.Fatalf("CloseWrite: %v", err)
	}
	checkArrived(t, <-got, data)
}

// TestPipeCloseWrite checks that readers see the data and then io.EOF, and
// that writers see an error.
func TestPipeCloseWrite(t *testing.T) {
	p := newTestPipe(t)
	p.Write([]byte("last words"))
	if err := p.CloseWrite(); err != nil {
		t.Fatalf("CloseWrite: %v", err)
	}
	if err := p.CloseWrite(); err != nil {
		t.Fatalf("second CloseWrite: %v, want nil", err)
	}
	got, err := io.ReadAll(p)
	if err != nil || string(got) != "last words" {
		t.Fatalf("ReadAll = %q, %v", got, err)
	}
	buf := make([]byte, 10)
	if n, err := p.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("Read after the write end closed = %d, %v; want 0, io.EOF", n, err)
	}
	if _, err := p.Write([]byte("x")); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Write after CloseWrite: %v, want os.ErrClosed", err)
	}
	if b, err := p.Buffered(); b != 0 || err != nil {
		t.Fatalf("Buffered after CloseWrite = %d, %v; want 0, nil", b, err)
	}
}

// TestPipeClose checks that Close is idempotent, closes both descriptors and
// makes every later call fail.
func TestPipeClose(t *testing.T) {
	before := openFDs(t)
	p, err := NewPipe()
	if err != nil {
		t.Fatal(err)
	}
	if n := openFDs(t); n != before+2 {
		t.Fatalf("NewPipe opened %d descriptors, want 2", n-before)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if n := openFDs(t); n != before {
		t.Fatalf("%d descriptors still open after Close", n-before)
	}
	for i := 0; i < 3; i++ {
		if err := p.Close(); err != nil {
			t.Fatalf("Close again: %v, want nil", err)
		}
		if err := p.CloseWrite(); err != nil {
			t.Fatalf("CloseWrite after Close: %v, want nil", err)
		}
	}
	if _, err := p.Read(make([]byte, 1)); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Read after Close: %v, want os.ErrClosed", err)
	}
	if _, err := p.Write([]byte("x")); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after Close: %v, want os.ErrClosed", err)
	}
	if _, err := p.Buffered(); err == nil {
		t.Error("Buffered after Close succeeded")
	}
	if _, err := p.Cap(); err == nil {
		t.Error("Cap after Close succeeded")
	}
	if _, err := p.SetCap(1 << 16); err == nil {
		t.Error("SetCap after Close succeeded")
	}
	if err := p.SetDeadline(time.Now()); err == nil {
		t.Error("SetDeadline after Close succeeded")
	}
	if _, err := Splice(tempFileRW(t), p, 10); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Splice from a closed pipe: %v, want os.ErrClosed", err)
	}
	if _, err := Splice(p, tempFileWith(t, []byte("x")), 10); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Splice into a closed pipe: %v, want os.ErrClosed", err)
	}
	q := newTestPipe(t)
	q.Write([]byte("x"))
	if _, err := Tee(p, q, 10); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Tee into a closed pipe: %v, want os.ErrClosed", err)
	}
	if _, err := Tee(q, p, 10); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Tee from a closed pipe: %v, want os.ErrClosed", err)
	}
}

// TestPipeDeadlines checks the read and write deadlines.
func TestPipeDeadlines(t *testing.T) {
	t.Run("read", func(t *testing.T) {
		p := newTestPipe(t)
		if err := p.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		n, err := p.Read(make([]byte, 10))
		if n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Read past the deadline = %d, %v; want os.ErrDeadlineExceeded", n, err)
		}
		// Data that arrives later is still there once the deadline is
		// cleared.
		p.Write([]byte("ok"))
		p.SetReadDeadline(time.Time{})
		buf := make([]byte, 10)
		if n, err := p.Read(buf); string(buf[:n]) != "ok" || err != nil {
			t.Fatalf("Read after clearing the deadline = %q, %v", buf[:n], err)
		}
	})
	t.Run("write", func(t *testing.T) {
		p := newTestPipe(t)
		capacity, err := p.Cap()
		if err != nil {
			t.Fatal(err)
		}
		if n, err := p.Write(testData(capacity)); n != capacity || err != nil {
			t.Fatalf("filling the pipe: %d, %v", n, err)
		}
		if err := p.SetWriteDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		n, err := p.Write([]byte("one more"))
		if n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Write into a full pipe past the deadline = %d, %v; want 0, os.ErrDeadlineExceeded", n, err)
		}
		// Room made before the deadline lets a waiting Write finish (the
		// kernel counts room in pages).
		p.SetWriteDeadline(time.Now().Add(10 * time.Second))
		go func() {
			time.Sleep(20 * time.Millisecond)
			p.Read(make([]byte, os.Getpagesize()))
		}()
		if n, err := p.Write([]byte("one more")); n != 8 || err != nil {
			t.Fatalf("Write once there is room = %d, %v; want 8, nil", n, err)
		}
	})
	t.Run("both", func(t *testing.T) {
		p := newTestPipe(t)
		p.SetDeadline(time.Now().Add(-time.Second))
		if _, err := p.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Read past SetDeadline: %v", err)
		}
		if _, err := p.Write([]byte("x")); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Write past SetDeadline: %v", err)
		}
		p.SetDeadline(time.Time{})
		if n, err := p.Write([]byte("x")); n != 1 || err != nil {
			t.Fatalf("Write after clearing = %d, %v", n, err)
		}
	})
}

// TestPipeCloseWakes checks that Close wakes every goroutine blocked on the
// pipe, with an error wrapping os.ErrClosed.
func TestPipeCloseWakes(t *testing.T) {
	full := func(t *testing.T, p *Pipe) {
		capacity, _ := p.Cap()
		if n, err := p.Write(testData(capacity)); n != capacity || err != nil {
			t.Fatalf("filling the pipe: %d, %v", n, err)
		}
	}
	cases := []struct {
		name  string
		fn    string // what shows in the blocked goroutine's stack
		setup func(t *testing.T, p *Pipe)
		call  func(t *testing.T, p *Pipe) error
	}{
		{"Read", "(*Pipe).Read", nil, func(t *testing.T, p *Pipe) error {
			_, err := p.Read(make([]byte, 10))
			return err
		}},
		{"Write", "(*Pipe).Write", full, func(t *testing.T, p *Pipe) error {
			_, err := p.Write([]byte("more"))
			return err
		}},
		{"Splice-from", "core.Splice", nil, func(t *testing.T, p *Pipe) error {
			_, err := Splice(tempFileRW(t), p, 10)
			return err
		}},
		{"Splice-into", "core.Splice", full, func(t *testing.T, p *Pipe) error {
			_, err := Splice(p, tempFileWith(t, []byte("more")), 10)
			return err
		}},
		{"Splice-pipe-pipe", "core.Splice", nil, func(t *testing.T, p *Pipe) error {
			_, err := Splice(newTestPipe(t), p, -10)
			return err
		}},
		{"Tee", "core.Tee", nil, func(t *testing.T, p *Pipe) error {
			_, err := Tee(newTestPipe(t), p, 10)
			return err
		}},
		{"Copy-from", "core.Copy", nil, func(t *testing.T, p *Pipe) error {
			_, err := Copy(tempFileRW(t), p)
			return err
		}},
		{"Copy-into", "core.Copy", full, func(t *testing.T, p *Pipe) error {
			_, err := Copy(p, tempFileWith(t, []byte("more")))
			return err
		}},
	}
	for _, c := range cases {
		c := c
		t.Run(c.name, func(t *testing.T) {
			p := newTestPipe(t)
			if c.setup != nil {
				c.setup(t, p)
			}
			done := make(chan error, 1)
			go func() { done <- c.call(t, p) }()
			waitParked(t, 1, c.fn)
			if err := p.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			select {
			case err := <-done:
				if !errors.Is(err, os.ErrClosed) {
					t.Fatalf("%s woken by Close: %v, want os.ErrClosed", c.name, err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("Close did not wake %s", c.name)
			}
		})
	}

	// A Splice parked on the other endpoint finds the pipe closed when it
	// wakes.
	t.Run("Splice-parked-on-socket", func(t *testing.T) {
		c, s := tcpPair(t)
		p := newTestPipe(t)
		done := make(chan error, 1)
		go func() {
			_, err := Splice(p, s, 10)
			done <- err
		}()
		waitParked(t, 1, "core.Splice")
		p.Close()
		c.Write([]byte("wake"))
		if err := <-done; !errors.Is(err, os.ErrClosed) {
			t.Fatalf("Splice into a pipe closed while it waited: %v, want os.ErrClosed", err)
		}
	})
}

// TestPipeCapacity checks Cap, SetCap and Buffered against what the kernel
// does with the pipe.
func TestPipeCapacity(t *testing.T) {
	page := os.Getpagesize()
	p := newTestPipe(t)
	c, err := p.Cap()
	if err != nil {
		t.Fatal(err)
	}
	if c < page || c%page != 0 || c&(c-1) != 0 {
		t.Fatalf("Cap = %d, want a power of two of pages", c)
	}

	granted, err := p.SetCap(100_000)
	if err != nil {
		t.Fatalf("SetCap(100000): %v", err)
	}
	if granted < 100_000 || granted&(granted-1) != 0 || granted%page != 0 {
		t.Fatalf("SetCap(100000) granted %d, want a power of two of pages >= 100000", granted)
	}
	if c, err := p.Cap(); c != granted || err != nil {
		t.Fatalf("Cap after SetCap = %d, %v; want %d", c, err, granted)
	}

	// The kernel holds the pipe to its capacity: once that much is in,
	// a non-blocking write of one more byte would block.
	if n, err := p.Write(testData(granted)); n != granted || err != nil {
		t.Fatalf("Write of the capacity = %d, %v; want %d, nil", n, err, granted)
	}
	var werr error
	rc, _ := p.w.SyscallConn()
	rc.Control(func(fd uintptr) { _, werr = unix.Write(int(fd), []byte{1}) })
	if werr != unix.EAGAIN {
		t.Fatalf("write into a pipe holding its capacity: %v, want EAGAIN", werr)
	}
	if b, err := p.Buffered(); b != granted || err != nil {
		t.Fatalf("Buffered = %d, %v; want %d", b, err, granted)
	}

	// It will not shrink below what it holds.
	if _, err := p.SetCap(page); !errors.Is(err, syscall.EBUSY) {
		t.Fatalf("SetCap below the bytes held: %v, want EBUSY", err)
	}
	if c, _ := p.Cap(); c != granted {
		t.Fatalf("Cap = %d after a refused SetCap, want %d", c, granted)
	}

	buf := make([]byte, 1000)
	io.ReadFull(p, buf)
	if b, err := p.Buffered(); b != granted-1000 || err != nil {
		t.Fatalf("Buffered after reading 1000 = %d, %v; want %d", b, err, granted-1000)
	}
	io.ReadFull(p, make([]byte, granted-1000))
	if b, err := p.Buffered(); b != 0 || err != nil {
		t.Fatalf("Buffered of an empty pipe = %d, %v", b, err)
	}

	// Shrinking an empty pipe is allowed; sizes round up to a page.
	if g, err := p.SetCap(1); g != page || err != nil {
		t.Fatalf("SetCap(1) = %d, %v; want %d", g, err, page)
	}

	if os.Geteuid() != 0 {
		max, err := os.ReadFile("/proc/sys/fs/pipe-max-size")
		if err != nil {
			t.Skip(err)
		}
		m, _ := strconv.Atoi(strings.TrimSpace(string(max)))
		if _, err := p.SetCap(2 * m); !errors.Is(err, syscall.EPERM) {
			t.Fatalf("SetCap above pipe-max-size: %v, want EPERM", err)
		}
		if c, _ := p.Cap(); c != page {
			t.Fatalf("Cap = %d after a refused SetCap, want %d", c, page)
		}
	}
}

// TestPipeBufferedAfterCloseWrite checks that Buffered keeps counting what
// a closed writer left behind.
func TestPipeBufferedAfterCloseWrite(t *testing.T) {
	p := newTestPipe(t)
	p.Write(bytes.Repeat([]byte("z"), 777))
	p.CloseWrite()
	if b, err := p.Buffered(); b != 777 || err != nil {
		t.Fatalf("Buffered = %d, %v; want 777", b, err)
	}
}
