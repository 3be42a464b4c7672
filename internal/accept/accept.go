// Package accept holds what kpipe's servers share around
// net.Listener.Accept: the accept loop (Loop, Serve), which failures are
// worth retrying, how long to pause before the retry, and which errors of a
// connection only say that the peer went away (PeerGone).
package accept

import (
	"errors"
	"net"
	"os"
	"syscall"
	"time"
)

// Transient reports whether an Accept error is worth retrying: the process
// or system is out of descriptors or buffers, or a client gave up during
// the handshake.
func Transient(err error) bool {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE,
		syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED} {
		if errors.Is(err, errno) {
			return true
		}
	}
	return false
}

// Backoff is the pause between retries of a failing Accept: 5 ms, doubling
// up to 1 s, back to the start after a success. The zero value is ready.
type Backoff struct{ pause time.Duration }

// Next returns the pause before the next retry and lengthens the one after.
func (b *Backoff) Next() time.Duration {
	b.pause = min(max(2*b.pause, 5*time.Millisecond), time.Second)
	return b.pause
}

// Reset starts over after an Accept that succeeded.
func (b *Backoff) Reset() { b.pause = 0 }

// PeerGone reports whether err, from a connection, only says that the peer
// went away (or that the connection was closed on this side after it did):
// that is how TCP connections often end, and no failure of the server.
func PeerGone(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ENOTCONN) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, os.ErrClosed)
}
