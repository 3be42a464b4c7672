package accept

import (
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestTransient(t *testing.T) {
	for err, want := range map[error]bool{
		os.NewSyscallError("accept4", syscall.EMFILE):  true,
		fmt.Errorf("accept: %w", syscall.ECONNABORTED): true,
		os.NewSyscallError("accept4", syscall.EINVAL):  false,
		fmt.Errorf("use of closed network connection"): false,
	} {
		if got := Transient(err); got != want {
			t.Errorf("Transient(%v) = %v, want %v", err, got, want)
		}
	}
}

func TestBackoff(t *testing.T) {
	var b Backoff
	var got []time.Duration
	for i := 0; i < 10; i++ {
		got = append(got, b.Next())
	}
	if got[0] != 5*time.Millisecond || got[1] != 10*time.Millisecond || got[9] != time.Second {
		t.Errorf("pauses %v: want 5ms, 10ms, ... up to 1s", got)
	}
	b.Reset()
	if p := b.Next(); p != 5*time.Millisecond {
		t.Errorf("after Reset: %v, want 5ms", p)
	}
}

func TestPeerGone(t *testing.T) {
	for err, want := range map[error]bool{
		os.NewSyscallError("write", syscall.EPIPE):      true,
		fmt.Errorf("splice: %w", syscall.ECONNRESET):    true,
		fmt.Errorf("read: %w", net.ErrClosed):           true,
		os.NewSyscallError("splice", syscall.EINVAL):    false,
		fmt.Errorf("dial upstream: %w", syscall.EMFILE): false,
	} {
		if got := PeerGone(err); got != want {
			t.Errorf("PeerGone(%v) = %v, want %v", err, got, want)
		}
	}
}
