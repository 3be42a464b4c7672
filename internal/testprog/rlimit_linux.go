package testprog

import (
	"errors"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// LowerNoFile sets RLIMIT_NOFILE's soft limit to the lowest free
// descriptor number, so that no new descriptor can be opened, and returns
// the function that restores the limit (also run at the test's cleanup; it
// may be called more than once). It fails t unless a dup(2) then fails
// with EMFILE. The limit is the process's: the caller must not run in
// parallel with other tests.
func LowerNoFile(t testing.TB) (restore func()) {
	t.Helper()
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	free, err := unix.FcntlInt(0, unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(free)
	low := old
	low.Cur = uint64(free)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	restored := false
	restore = func() {
		if !restored {
			restored = true
			if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Cleanup(restore)
	if fd, err := unix.FcntlInt(0, unix.F_DUPFD_CLOEXEC, 0); !errors.Is(err, syscall.EMFILE) {
		unix.Close(fd)
		restore()
		t.Fatalf("with RLIMIT_NOFILE %d, dup: %v; want EMFILE", low.Cur, err)
	}
	return restore
}
