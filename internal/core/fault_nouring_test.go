//go:build linux

package core

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/kpipe/kpipe/internal/nouring"
	"golang.org/x/sys/unix"
)

// nouringExecedEnv marks the child of TestFaultNoURing once it has
// installed the filter and executed itself again.
const nouringExecedEnv = "KPIPE_NOURING_EXECED"

// ioURingSetupErrno returns the errno with which the kernel refuses
// io_uring_setup to this process, 0 when it allows it.
func ioURingSetupErrno() syscall.Errno {
	var params [120]byte // struct io_uring_params
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, 4, uintptr(unsafe.Pointer(&params[0])), 0)
	if errno == 0 {
		unix.Close(int(fd))
	}
	return errno
}

// TestFaultNoURing runs a child under the seccomp filter of Docker's
// default profile, which refuses io_uring with EPERM (internal/nouring,
// installed and then the child executed, as nouring-run does), with
// KPIPE_BACKEND=io_uring asking for io_uring as the default. In the child
// the default engine and an engine asked for io_uring fall back to the poll
// backend, and DoubleSplice and Proxy still move data.
func TestFaultNoURing(t *testing.T) {
	if !inFaultChild(t) {
		runFaultChild(t, faultChild{env: []string{backendEnv + "=" + BackendIOUring, nouringExecedEnv + "="}})
		return
	}
	if os.Getenv(nouringExecedEnv) != "1" {
		// Install the filter and become the filtered process.
		env := childEnv(nouringExecedEnv + "=1")
		t.Fatal(nouring.Exec(os.Args, env))
	}

	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(status), "Seccomp:\t2\n") {
		t.Fatal("the child runs without a seccomp filter")
	}
	if errno := ioURingSetupErrno(); errno != syscall.EPERM {
		t.Fatalf("io_uring_setup under the filter: errno %d (%v), want EPERM", errno, errno)
	}
	for _, nr := range []uintptr{unix.SYS_IO_URING_ENTER, unix.SYS_IO_URING_REGISTER} {
		if _, _, errno := unix.Syscall6(nr, ^uintptr(0), 0, 0, 0, 0, 0); errno != syscall.EPERM {
			t.Fatalf("system call %d under the filter: errno %v, want EPERM", nr, errno)
		}
	}
	// Everything else still works.
	if _, err := os.Getwd(); err != nil {
		t.Fatal(err)
	}

	if got := DefaultBackend(); got != BackendPoll {
		t.Fatalf("with %s=io_uring and io_uring refused, DefaultBackend() = %q, want poll", backendEnv, got)
	}
	// Asked for io_uring, NewEngine falls back to poll rather than fail
	// (README: "Where io_uring is refused ... it falls back to poll").
	e, err := NewEngine(Config{Backend: BackendIOUring})
	if err != nil {
		t.Fatalf("NewEngine(io_uring) with io_uring refused: %v; want the poll fallback", err)
	}
	defer e.Close()
	if got := e.Backend(); got != BackendPoll {
		t.Fatalf("NewEngine(io_uring).Backend() with io_uring refused = %q, want poll", got)
	}

	before := openFDs(t)
	for _, c := range []struct {
		name string
		ds   doubleSpliceFunc
		px   proxyFunc
	}{
		{"default", DoubleSplice, Proxy},
		{"asked-io_uring", e.DoubleSplice, e.Proxy},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkDoubleSplice(t, c.ds, 3<<20+11)
			checkProxy(t, c.px, 2<<20+3, 1<<20+5)
			checkProxy(t, c.px, 0, 70_000)
		})
	}
	if after := openFDs(t); after != before {
		t.Fatalf("open descriptors went from %d to %d", before, after)
	}
}
