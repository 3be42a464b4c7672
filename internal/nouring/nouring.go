//go:build linux

// Package nouring refuses io_uring to the calling process the way Docker's
// default seccomp profile does: io_uring_setup, io_uring_enter and
// io_uring_register are outside the profile's allowlist, so they fail with
// EPERM, and every other system call is allowed. kpipe's tests run under it
// to exercise the fallback from io_uring to the poll backend.
package nouring

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Call is an io_uring system call. They have these numbers on every
// architecture that uses the common syscall table (amd64, 386, arm64, arm,
// riscv64, ...).
type Call uint32

// The io_uring system calls.
const (
	Setup    Call = 425 // io_uring_setup
	Enter    Call = 426 // io_uring_enter
	Register Call = 427 // io_uring_register
)

// x32SyscallBit marks the x32 ABI's system calls on amd64, which share the
// amd64 audit architecture.
const x32SyscallBit = 0x40000000

// offsets of struct seccomp_data's fields
const (
	offNr   = 0
	offArch = 4
)

// archs are the audit architectures a process of this GOARCH can issue
// system calls as: the native one and its compat ABI. A call made under any
// other architecture kills the process, as libseccomp's filters do.
func archs() ([]uint32, error) {
	switch runtime.GOARCH {
	case "amd64":
		return []uint32{unix.AUDIT_ARCH_X86_64, unix.AUDIT_ARCH_I386}, nil
	case "386":
		return []uint32{unix.AUDIT_ARCH_I386}, nil
	case "arm64":
		return []uint32{unix.AUDIT_ARCH_AARCH64, unix.AUDIT_ARCH_ARM}, nil
	case "arm":
		return []uint32{unix.AUDIT_ARCH_ARM}, nil
	case "riscv64":
		return []uint32{unix.AUDIT_ARCH_RISCV64}, nil
	}
	return nil, fmt.Errorf("nouring: no seccomp filter for GOARCH %s", runtime.GOARCH)
}

func stmt(code uint16, k uint32) unix.SockFilter {
	return unix.SockFilter{Code: code, K: k}
}

func jump(code uint16, k uint32, jt, jf uint8) unix.SockFilter {
	return unix.SockFilter{Code: code, Jt: jt, Jf: jf, K: k}
}

// Filter returns the BPF program: for each known architecture, the three
// io_uring calls (and on amd64 their x32 forms) return EPERM; everything
// else is allowed; an unknown architecture kills the process.
func Filter() ([]unix.SockFilter, error) {
	return filterFor(syscall.EPERM, Setup, Enter, Register)
}

// filterFor returns the BPF program under which calls fail with errno and
// everything else is allowed.
func filterFor(errno syscall.Errno, calls ...Call) ([]unix.SockFilter, error) {
	as, err := archs()
	if err != nil {
		return nil, err
	}
	const (
		ld  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		ret = unix.BPF_RET | unix.BPF_K
	)
	allow := stmt(ret, unix.SECCOMP_RET_ALLOW)
	deny := stmt(ret, unix.SECCOMP_RET_ERRNO|uint32(errno))
	var prog []unix.SockFilter
	for _, a := range as {
		var nrs []uint32
		for _, c := range calls {
			nrs = append(nrs, uint32(c))
		}
		if a == unix.AUDIT_ARCH_X86_64 {
			for _, c := range calls {
				nrs = append(nrs, x32SyscallBit|uint32(c))
			}
		}
		// this architecture's block: arch check, number checks, allow,
		// deny
		block := []unix.SockFilter{
			stmt(ld, offArch),
			jump(jeq, a, 0, uint8(len(nrs)+3)), // not this arch: next block
			stmt(ld, offNr),
		}
		for i, nr := range nrs {
			// to the deny after the allow
			block = append(block, jump(jeq, nr, uint8(len(nrs)-i), 0))
		}
		block = append(block, allow, deny)
		prog = append(prog, block...)
	}
	prog = append(prog, stmt(ret, unix.SECCOMP_RET_KILL_PROCESS))
	return prog, nil
}

// Install sets no_new_privs and installs the filter on every thread of the
// process (SECCOMP_FILTER_FLAG_TSYNC). It cannot be undone, and children
// and programs the process executes inherit it.
func Install() error {
	return Refuse(syscall.EPERM, Setup, Enter, Register)
}

// Refuse is Install for other faults: from now on, calls fail with errno
// in every thread of the process (a call already waiting in the kernel
// finishes as it would; its thread's next call fails). kpipe's tests use
// it to make a running ring's io_uring_enter fail.
func Refuse(errno syscall.Errno, calls ...Call) error {
	prog, err := filterFor(errno, calls...)
	if err != nil {
		return err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return os.NewSyscallError("prctl(PR_SET_NO_NEW_PRIVS)", err)
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	if errno != 0 {
		return os.NewSyscallError("seccomp", errno)
	}
	if r != 0 {
		return fmt.Errorf("nouring: seccomp could not synchronize thread %d", r)
	}
	return nil
}

// Exec installs the filter and replaces the process with argv[0] (looked
// up in PATH when it holds no slash), run with argv and env, to which it
// adds KPIPE_TEST_NO_IOURING=1: kpipe's tests then expect io_uring refused.
func Exec(argv, env []string) error {
	if len(argv) == 0 {
		return errors.New("nouring: no command")
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return err
	}
	if err := Install(); err != nil {
		return err
	}
	runtime.LockOSThread()
	// Tell kpipe's tests that io_uring is refused on purpose.
	env = append(env[:len(env):len(env)], "KPIPE_TEST_NO_IOURING=1")
	return os.NewSyscallError("execve "+path, syscall.Exec(path, argv, env))
}
