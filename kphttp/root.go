package kphttp

import (
	"errors"
	"fmt"
	"io/fs"
	"time"
)

// errOutside reports a path that leads out of the served directory.
var errOutside = errors.New("kphttp: path leads outside the served directory")

// fileInfo is what the file server needs to know of an opened file, taken
// from the stat that the open makes anyway (no os.FileInfo to allocate).
type fileInfo struct {
	mode    fs.FileMode // type bits only: a directory or a regular file
	size    int64
	modTime time.Time
}

func (fi *fileInfo) isDir() bool { return fi.mode.IsDir() }

// errNotFile is what root.open returns for something that is neither a
// directory nor a regular file (a FIFO, a device, a socket): it is served as
// missing.
var errNotFile = fmt.Errorf("kphttp: neither a directory nor a regular file: %w", fs.ErrNotExist)
