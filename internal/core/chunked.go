package core

import (
	"errors"
	"io"
	"strconv"
)

// ChunkOptions implements kpipe.ChunkOptions, which documents it.
type ChunkOptions struct {
	Prefix, Postfix []byte
	ChunkPrefix     func(n int) []byte
	ChunkPostfix    func(n int) []byte
	ChunkSize       int
}

// DefaultChunkSize implements kpipe.DefaultChunkSize, which documents it.
const DefaultChunkSize = 64 << 10

// SpliceChunks implements kpipe.SpliceChunks, which documents it.
func SpliceChunks(dst io.Writer, src io.Reader, opt ChunkOptions) (int64, error) {
	if opt.ChunkSize < 0 {
		return 0, errors.New("kpipe: negative ChunkSize")
	}
	if opt.ChunkSize == 0 {
		opt.ChunkSize = DefaultChunkSize
	}
	f := chunkFramer{dst: dst, opt: &opt}
	return f.run(src)
}

// ChunkedTransfer implements kpipe.ChunkedTransfer, which documents it.
func ChunkedTransfer(dst io.Writer, src io.Reader) (int64, error) {
	f := chunkFramer{dst: dst, opt: &ChunkOptions{ChunkSize: DefaultChunkSize}, http: true}
	return f.run(src)
}

// chunkFramer writes one framed stream.
type chunkFramer struct {
	dst  io.Writer
	opt  *ChunkOptions
	http bool     // HTTP chunked framing, formatted in scratch
	scr  [20]byte // scratch for the HTTP chunk header: 16 hex digits, CRLF
}

var (
	crlf      = []byte("\r\n")
	lastChunk = []byte("0\r\n\r\n")
)

// run writes the prefix, the chunks and the postfix.
func (f *chunkFramer) run(src io.Reader) (int64, error) {
	if err := f.write(f.prefix()); err != nil {
		return 0, err
	}
	n, err := f.chunksSpliced(src)
	if errors.Is(err, errSpliceRefused) {
		var m int64
		m, err = f.chunksBuffered(src)
		n += m
	}
	if err != nil {
		return n, err
	}
	return n, f.write(f.postfix())
}

func (f *chunkFramer) prefix() []byte {
	if f.http {
		return nil
	}
	return f.opt.Prefix
}

func (f *chunkFramer) postfix() []byte {
	if f.http {
		return lastChunk
	}
	return f.opt.Postfix
}

// chunkStart writes what comes before a chunk of n bytes.
func (f *chunkFramer) chunkStart(n int) error {
	if f.http {
		b := strconv.AppendUint(f.scr[:0], uint64(n), 16)
		return f.write(append(b, '\r', '\n'))
	}
	if f.opt.ChunkPrefix == nil {
		return nil
	}
	return f.write(f.opt.ChunkPrefix(n))
}

// chunkEnd writes what comes after a chunk of n bytes.
func (f *chunkFramer) chunkEnd(n int) error {
	if f.http {
		return f.write(crlf)
	}
	if f.opt.ChunkPostfix == nil {
		return nil
	}
	return f.write(f.opt.ChunkPostfix(n))
}

// write writes b whole to dst.
func (f *chunkFramer) write(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	n, err := f.dst.Write(b)
	if err == nil && n != len(b) {
		err = io.ErrShortWrite
	}
	return err
}

// errSpliceRefused says that splice cannot serve the pair, at a chunk
// boundary (nothing of the next chunk taken or written): the buffered path
// takes over from there.
var errSpliceRefused = errors.New("kpipe: splice refused")

// chunksBuffered is the path through user memory: one read of up to
// ChunkSize bytes per chunk.
func (f *chunkFramer) chunksBuffered(src io.Reader) (int64, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	if f.opt.ChunkSize < len(buf) {
		buf = buf[:f.opt.ChunkSize]
	}
	var total int64
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			err := f.chunkStart(n)
			if err == nil {
				err = f.write(buf[:n])
			}
			if err != nil {
				return total, err
			}
			total += int64(n)
			if err := f.chunkEnd(n); err != nil {
				return total, err
			}
		}
		if rerr == io.EOF {
			return total, nil
		}
		if rerr != nil {
			return total, rerr
		}
	}
}
