package kpipe

import (
	"io"

	"github.com/kpipe/kpipe/internal/core"
)

// ChunkOptions describes the framing SpliceChunks writes around the data.
// Nil fields write nothing.
type ChunkOptions struct {
	Prefix, Postfix []byte             // written once, before and after
	ChunkPrefix     func(n int) []byte // before each chunk of n bytes
	ChunkPostfix    func(n int) []byte // after each chunk
	ChunkSize       int                // the largest chunk; 0: DefaultChunkSize
}

// DefaultChunkSize is the chunk size of SpliceChunks when ChunkOptions leaves
// it 0: the kernel's default pipe capacity.
const DefaultChunkSize = 64 << 10

// SpliceChunks copies src to dst in chunks, each framed by the options:
// first Prefix; then, for each chunk of n bytes (1 <= n <= ChunkSize) taken
// from src, ChunkPrefix(n), the n bytes, and ChunkPostfix(n); at src's end of
// input, Postfix. It returns the number of body bytes (framing excluded).
//
// When src and dst both have file descriptors, the body never enters user
// memory: each chunk is spliced from src into a pooled private pipe, and the
// n announced in ChunkPrefix is what the pipe holds, so it is exactly the
// number of bytes that follow however few a splice moved. Endpoints without
// descriptors, or descriptors that splice(2) refuses, are served by a
// buffered path that writes the same framing. Waiting parks the goroutine in
// Go's runtime poller.
//
// On an error the output ends where the error struck, possibly inside a
// chunk; a consumer of the framing then sees a truncated stream, never a
// mis-framed one.
func SpliceChunks(dst io.Writer, src io.Reader, opt ChunkOptions) (int64, error) {
	return core.SpliceChunks(dst, src, core.ChunkOptions(opt))
}

// ChunkedTransfer writes src to dst as an HTTP/1.1 chunked body (RFC 9112
// section 7.1): each chunk as its size in hexadecimal, CRLF, the data, CRLF,
// and at the end the last chunk and an empty trailer, "0\r\n\r\n". It
// returns the number of body bytes. The data moves as in SpliceChunks.
func ChunkedTransfer(dst io.Writer, src io.Reader) (int64, error) {
	return core.ChunkedTransfer(dst, src)
}
