//go:build !(linux && cgo)

package core

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// errNoIOUring is why builds without the C core have no io_uring backend:
// its event loop is C (liburing). Engines there run on the poll backend.
var errNoIOUring = fmt.Errorf("kpipe: the io_uring backend needs Linux and cgo: %w", errors.ErrUnsupported)

// uringOps is the set of io_uring operations the kernel supports; builds
// without the C core know of none.
type uringOps uint32

// probeIOUring reports that this build has no io_uring backend.
func probeIOUring() (uringOps, error) { return 0, errNoIOUring }

// ring stands for an io_uring ring, which this build never opens.
type ring struct{}

func openRing(Config) (*ring, error) { return nil, errNoIOUring }

func (*ring) transfer(ctx context.Context, src, dst int, idle time.Duration) (int64, leftover, error) {
	return 0, leftover{}, errNoIOUring
}

func (*ring) shutdown()        {}
func (*ring) close()           {}
func (*ring) pooledPipes() int { return 0 }
