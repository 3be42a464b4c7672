//go:build !(linux && cgo)

package core

import (
	"encoding/binary"
	"hash/crc32"
	"io"
	"sync"

	"github.com/klauspost/compress/flate"
)

// gzipState is a GzipWriter's stream on the Go compressor: the header
// goes out first, then deflate data and, at the end, the CRC-32 and size.
type gzipState struct {
	out   zOutput
	fw    *flate.Writer
	level int
	head  []byte // the header
	begun bool   // head is written
	crc   uint32
	size  uint32 // ISIZE: the input's length modulo 2^32
	tail  [gzTrailerLen]byte
}

// gzipStates keeps released states, so that a GzipWriter reused through
// Reset allocates nothing.
var gzipStates = sync.Pool{New: func() any { return new(gzipState) }}

func newGzipState(dst io.Writer, level int, hdr *GzipHeader) (*gzipState, error) {
	if level == DefaultCompression {
		level = zlibDefaultLevel
	}
	s := gzipStates.Get().(*gzipState)
	head, err := appendGzipHeader(s.head[:0], hdr, level)
	if err != nil {
		gzipStates.Put(s)
		return nil, err
	}
	*s = gzipState{out: zOutput{w: dst, max: -1}, level: level, head: head}
	if s.fw, err = getFlateWriter(level, &s.out); err != nil {
		gzipStates.Put(s)
		return nil, err
	}
	return s, nil
}

// begin writes the header, once.
func (s *gzipState) begin() error {
	if s.begun {
		return nil
	}
	s.begun = true
	return s.out.write(s.head)
}

func (s *gzipState) write(p []byte) (int, error) {
	if err := s.begin(); err != nil {
		return 0, err
	}
	n, err := s.fw.Write(p)
	s.crc = crc32.Update(s.crc, crc32.IEEETable, p[:n])
	s.size += uint32(n)
	return n, err
}

func (s *gzipState) writeString(str string) (int, error) {
	return s.write([]byte(str))
}

func (s *gzipState) flush() error {
	if err := s.begin(); err != nil {
		return err
	}
	return s.fw.Flush()
}

func (s *gzipState) finish() error {
	if err := s.begin(); err != nil {
		return err
	}
	if err := s.fw.Close(); err != nil {
		return err
	}
	// In s, not on the stack: the destination's Write would move it to
	// the heap.
	binary.LittleEndian.PutUint32(s.tail[:4], s.crc)
	binary.LittleEndian.PutUint32(s.tail[4:], s.size)
	return s.out.write(s.tail[:])
}

// release gives the deflate compressor and s back to their pools.
func (s *gzipState) release() {
	if s.fw != nil {
		flateWriters[s.level+2].Put(s.fw)
		s.fw = nil
	}
	s.out.w = nil
	gzipStates.Put(s)
}
