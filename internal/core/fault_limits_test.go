//go:build linux

package core

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http/httputil"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/kpipe/kpipe/internal/testprog"
	"golang.org/x/sys/unix"
)

// Tests of kpipe at the kernel's resource limits: a process out of
// descriptors (RLIMIT_NOFILE) and a user refused pipe growth
// (fs.pipe-user-pages-soft). Both limits are process- or system-wide, so
// the tests run in child processes.

// gunzipped decompresses gzip data with compress/gzip.
func gunzipped(t *testing.T, comp []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(comp))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFaultEMFILE runs, in a child process, every call that opens
// descriptors with RLIMIT_NOFILE leaving no descriptor free: NewPipe,
// DoubleSplice and Proxy (which duplicate their endpoints' descriptors) and
// SpliceChunks (which takes a pooled pipe) fail with an error wrapping
// EMFILE; Copy, whose pooled pipe cannot be opened, falls back to read and
// write and delivers every byte; Splice on an existing *Pipe, Gzip and
// Deflate need no descriptor and work. Nothing leaks, and once the limit
// is restored every call works again, io_uring included: a first io_uring
// probe that failed with EMFILE must not keep io_uring away for good.
func TestFaultEMFILE(t *testing.T) {
	if !inFaultChild(t) {
		runFaultChild(t, faultChild{})
		return
	}
	faultEMFILEChild(t)
}

// faultEMFILEChild is TestFaultEMFILE in the child process.
func faultEMFILEChild(t *testing.T) {
	ctx := context.Background()
	uringCfg := Config{Backend: BackendIOUring}

	// io_uring's first use in this process, out of descriptors.
	restore := testprog.LowerNoFile(t)
	if e, err := NewEngine(uringCfg); err == nil {
		e.Close()
	} else if !errors.Is(err, syscall.EMFILE) {
		t.Fatalf("NewEngine(io_uring) out of descriptors: %v; want nil or EMFILE", err)
	}
	restore()
	eU, err := NewEngine(uringCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer eU.Close()
	if got, want := eU.Backend(), wantBackend(uringCfg); got != want {
		t.Fatalf("NewEngine(io_uring) after descriptors were freed: backend %q, want %q", got, want)
	}
	DefaultBackend() // the default engine exists before the limit

	// Endpoints opened while descriptors are available.
	data := testData(1<<20 + 17)
	src := tempFileWith(t, data)
	copyDst := tempFileRW(t)
	zDst := tempFileRW(t)
	feedPeer, feedConn := tcpPair(t)
	waitFeed := feedAsync(t, feedPeer, data, func() { feedPeer.CloseWrite() }, func() { feedPeer.Close() })
	dst, dstPeer := tcpPair(t)
	pa, a := tcpPair(t)
	b, pb := tcpPair(t)
	p := newTestPipe(t)

	before := openFDs(t)
	restore = testprog.LowerNoFile(t)
	if q, err := NewPipe(); !errors.Is(err, syscall.EMFILE) || q != nil {
		t.Errorf("NewPipe out of descriptors = %v, %v; want nil, EMFILE", q, err)
	}
	if n, err := Splice(p, src, 4096); n != 4096 || err != nil {
		t.Errorf("Splice(file -> existing *Pipe) out of descriptors = %d, %v; want 4096, nil", n, err)
	}
	src.Seek(0, io.SeekStart)
	if n, err := ChunkedTransfer(dst, src); !errors.Is(err, syscall.EMFILE) || n != 0 {
		t.Errorf("ChunkedTransfer out of descriptors = %d, %v; want 0, EMFILE", n, err)
	}
	if n, err := SpliceChunks(dst, src, ChunkOptions{Prefix: []byte("x")}); !errors.Is(err, syscall.EMFILE) || n != 0 {
		t.Errorf("SpliceChunks out of descriptors = %d, %v; want 0, EMFILE", n, err)
	}
	for _, e := range []struct {
		name string
		ds   doubleSpliceFunc
		px   proxyFunc
	}{{"default engine", DoubleSplice, Proxy}, {eU.Backend() + " engine", eU.DoubleSplice, eU.Proxy}} {
		if n, err := e.ds(ctx, dst, src); !errors.Is(err, syscall.EMFILE) || n != 0 {
			t.Errorf("%s: DoubleSplice out of descriptors = %d, %v; want 0, EMFILE", e.name, n, err)
		}
		if x, y, err := e.px(ctx, a, b); !errors.Is(err, syscall.EMFILE) || x != 0 || y != 0 {
			t.Errorf("%s: Proxy out of descriptors = %d, %d, %v; want 0, 0, EMFILE", e.name, x, y, err)
		}
	}
	if e, err := NewEngine(uringCfg); err == nil {
		e.Close()
	} else if !errors.Is(err, syscall.EMFILE) {
		t.Errorf("NewEngine(io_uring) out of descriptors: %v; want nil or EMFILE", err)
	}
	// Copy between sockets and files needs a pooled pipe: without one it
	// copies by read and write.
	if n, err := Copy(copyDst, feedConn); n != int64(len(data)) || err != nil {
		t.Errorf("Copy(tcp -> file) out of descriptors = %d, %v; want %d, nil", n, err, len(data))
	}
	src.Seek(0, io.SeekStart)
	if _, err := Gzip(zDst, src, nil); err != nil {
		t.Errorf("Gzip(file -> file) out of descriptors: %v", err)
	}
	var zbuf bytes.Buffer
	if _, err := Deflate(&zbuf, bytes.NewReader(data)); err != nil {
		t.Errorf("Deflate(memory) out of descriptors: %v", err)
	}
	restore()

	if err := waitFeed(); err != nil {
		t.Fatal(err)
	}
	if got := fileContents(t, copyDst); !bytes.Equal(got, data) {
		t.Errorf("Copy out of descriptors delivered %d bytes, not the %d sent", len(got), len(data))
	}
	if got := gunzipped(t, fileContents(t, zDst)); !bytes.Equal(got, data) {
		t.Error("Gzip out of descriptors wrote a stream that does not decompress to its input")
	}
	if after := openFDs(t); after != before {
		t.Fatalf("the calls out of descriptors changed the open descriptors from %d to %d", before, after)
	}
	// The failed calls wrote nothing to their destination but SpliceChunks'
	// prefix, which goes out before the pooled pipe is taken.
	dst.CloseWrite()
	if got, err := io.ReadAll(dstPeer); string(got) != "x" || err != nil {
		t.Errorf("the failed calls wrote %q to their destination (%v); want %q", got, err, "x")
	}

	// Everything works again.
	if q, err := NewPipe(); err != nil {
		t.Errorf("NewPipe after the limit was restored: %v", err)
	} else {
		q.Close()
	}
	checkDoubleSplice(t, DoubleSplice, 2<<20+1)
	checkDoubleSplice(t, eU.DoubleSplice, 2<<20+1)
	checkProxy(t, Proxy, 1<<20+3, 300_000)
	checkProxy(t, eU.Proxy, 1<<20+3, 300_000)
	pa.Close()
	pb.Close()
	c, s := tcpPair(t)
	feedAsync(t, c, data, func() { c.CloseWrite() }, func() { c.Close() })
	out := tempFileRW(t)
	if n, err := Copy(out, s); n != int64(len(data)) || err != nil {
		t.Errorf("Copy after the limit was restored = %d, %v", n, err)
	}
	chunked, peer := tcpPair(t)
	arrived := drainAsync(httputil.NewChunkedReader(bufio.NewReader(peer)))
	src.Seek(0, io.SeekStart)
	if n, err := ChunkedTransfer(chunked, src); n != int64(len(data)) || err != nil {
		t.Errorf("ChunkedTransfer after the limit was restored = %d, %v", n, err)
	}
	chunked.CloseWrite()
	checkArrived(t, <-arrived, data)
}

// pipeSysctlLock serializes the tests that change the fs.pipe-* sysctls
// across processes, so that two runs never restore each other's values.
const pipeSysctlLock = "kpipe-pipe-sysctl.lock"

// setPipeSysctl writes value to /proc/sys/fs/<name> for the rest of the
// test, under an exclusive lock, and restores the old value afterwards.
func setPipeSysctl(t *testing.T, name, value string) {
	t.Helper()
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), pipeSysctlLock), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		lock.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { lock.Close() }) // releases the lock, after the restore below
	path := "/proc/sys/fs/" + name
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.WriteFile(path, old, 0o644); err != nil {
			t.Errorf("restoring %s to %s: %v", path, strings.TrimSpace(string(old)), err)
		}
	})
}

// nobodyID is the uid and gid of the unprivileged child.
const nobodyID = 65534

// TestFaultPipePages runs kpipe as an unprivileged user (nobody, without
// CAP_SYS_RESOURCE) with fs.pipe-user-pages-soft lowered to 1 page: every
// new pipe of that user gets the kernel's minimum of 2 pages and
// F_SETPIPE_SZ fails with EPERM. Copy, Splice, DoubleSplice and Proxy on
// both backends (asking for 1 MiB pipes), SpliceChunks and Gzip must still
// deliver 3 MiB intact through these small pipes.
func TestFaultPipePages(t *testing.T) {
	if !inFaultChild(t) {
		startPipePagesChild(t)
		return
	}
	pipePagesChild(t)
}

// startPipePagesChild runs TestFaultPipePages in a child process as
// nobody, with fs.pipe-user-pages-soft lowered to one page.
func startPipePagesChild(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: lowers fs.pipe-user-pages-soft and runs a child as another user")
	}
	// The child's binary and temporary directory must be reachable
	// by nobody.
	dir, err := os.MkdirTemp("", "kpipe-nobody")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	tmp := filepath.Join(dir, "tmp")
	bin := filepath.Join(dir, "kpipe.test")
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(tmp, nobodyID, nobodyID); err != nil {
		t.Fatal(err)
	}
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	setPipeSysctl(t, "pipe-user-pages-soft", "1")
	runFaultChild(t, faultChild{
		binary: bin,
		dir:    tmp,
		env:    []string{"TMPDIR=" + tmp, "HOME=" + tmp},
		attr:   &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobodyID, Gid: nobodyID}},
	})
}

// pipePagesChild is TestFaultPipePages in the child process.
func pipePagesChild(t *testing.T) {
	if uid := os.Geteuid(); uid != nobodyID {
		t.Fatalf("the child runs as uid %d, want %d", uid, nobodyID)
	}
	minCap := 2 * os.Getpagesize()
	p := newTestPipe(t)
	if c, err := p.Cap(); c != minCap || err != nil {
		t.Fatalf("a new pipe's capacity = %d, %v; want %d (pipe-user-pages-soft exceeded)", c, err, minCap)
	}
	if c, err := p.SetCap(1 << 20); !errors.Is(err, syscall.EPERM) {
		t.Fatalf("SetCap(1 MiB) = %d, %v; want EPERM", c, err)
	}
	if c, err := p.Cap(); c != minCap || err != nil {
		t.Fatalf("after the refused SetCap, Cap() = %d, %v; want %d", c, err, minCap)
	}

	const size = 3<<20 + 13
	data := testData(size)
	t.Run("Copy", func(t *testing.T) {
		// socket -> file and socket -> socket: through a pooled pipe that
		// cannot grow; file -> *Pipe: straight into the small pipe.
		c, s := tcpPair(t)
		feedAsync(t, c, data, func() { c.CloseWrite() }, func() { c.Close() })
		out := tempFileRW(t)
		if n, err := Copy(out, s); n != size || err != nil {
			t.Fatalf("Copy(tcp -> file) = %d, %v", n, err)
		}
		checkArrived(t, hashFile(t, out), data)

		ua, ub := unixPair(t)
		feedAsync(t, ua, data, func() { ua.CloseWrite() }, func() { ua.Close() })
		dst, peer := tcpPair(t)
		arrived := drainAsync(peer)
		if n, err := Copy(dst, ub); n != size || err != nil {
			t.Fatalf("Copy(unix -> tcp) = %d, %v", n, err)
		}
		dst.CloseWrite()
		checkArrived(t, <-arrived, data)

		q := newTestPipe(t)
		arrived = drainAsync(q)
		if n, err := Copy(q, tempFileWith(t, data)); n != size || err != nil {
			t.Fatalf("Copy(file -> *Pipe) = %d, %v", n, err)
		}
		q.CloseWrite()
		checkArrived(t, <-arrived, data)
	})
	t.Run("Splice", func(t *testing.T) {
		q := newTestPipe(t)
		fed := make(chan error, 1)
		go func() {
			_, err := Splice(q, tempFileWith(t, data), -(1 << 20))
			q.CloseWrite()
			fed <- err
		}()
		dst, peer := tcpPair(t)
		arrived := drainAsync(peer)
		if n, err := Splice(dst, q, -(1 << 20)); n != size || err != nil {
			t.Fatalf("Splice(*Pipe -> tcp) = %d, %v", n, err)
		}
		if err := <-fed; err != nil {
			t.Fatalf("Splice(file -> *Pipe): %v", err)
		}
		dst.CloseWrite()
		checkArrived(t, <-arrived, data)
	})
	for _, cfg := range []Config{{PipeSize: 1 << 20, Backend: BackendIOUring}, {PipeSize: 1 << 20, ForcePoll: true}} {
		e := newCheckedEngine(t, cfg)
		t.Run("Engine/"+e.Backend(), func(t *testing.T) {
			checkDoubleSplice(t, e.DoubleSplice, size)
			checkProxy(t, e.Proxy, size, 1<<20+1)
		})
		e.Close()
	}
	t.Run("DefaultEngine", func(t *testing.T) {
		checkDoubleSplice(t, DoubleSplice, size)
		checkProxy(t, Proxy, 1<<20+1, size)
	})
	t.Run("ChunkedTransfer", func(t *testing.T) {
		dst, peer := tcpPair(t)
		arrived := drainAsync(httputil.NewChunkedReader(bufio.NewReader(peer)))
		if n, err := ChunkedTransfer(dst, tempFileWith(t, data)); n != size || err != nil {
			t.Fatalf("ChunkedTransfer = %d, %v", n, err)
		}
		dst.CloseWrite()
		checkArrived(t, <-arrived, data)
	})
	t.Run("Gzip", func(t *testing.T) {
		q := newTestPipe(t)
		type result struct {
			sum [sha256.Size]byte
			n   int
			err error
		}
		got := make(chan result, 1)
		go func() {
			zr, err := gzip.NewReader(q)
			if err != nil {
				got <- result{err: err}
				return
			}
			out, err := io.ReadAll(zr)
			got <- result{sha256.Sum256(out), len(out), err}
		}()
		if _, err := Gzip(q, tempFileWith(t, data), nil); err != nil {
			t.Fatalf("Gzip(file -> *Pipe): %v", err)
		}
		q.CloseWrite()
		r := <-got
		checkArrived(t, hashResult{sum: r.sum, n: int64(r.n), err: r.err}, data)
	})
}
