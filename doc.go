// Package kpipe moves data between file descriptors on Linux without copying
// it through Go memory: kernel pipes, splice(2), tee(2), copy_file_range(2)
// and sendfile(2), driven by a small C core and parked in Go's runtime poller
// while they wait, so that no OS thread is held by an idle transfer.
//
// The endpoints are the ones Go programs already have: *os.File,
// *net.TCPConn, *net.UnixConn, any other syscall.Conn, and kpipe's own *Pipe.
// The order of arguments is Go's, destination first, as in io.Copy.
//
//	n, err := kpipe.Copy(conn, file) // sendfile(2), no user-space copy
//
// Copy picks the best method for each pair and falls back to a buffered copy
// for endpoints without descriptors; Splice and Tee expose the system calls
// themselves around a *Pipe. Deflate, Inflate, Gzip and Gunzip compress and
// decompress between the same endpoints (or memory) on ISA-L, libdeflate
// and zlib, the loop in C, nothing allocated per call; GzipWriter is the
// push-style form, with Flush. Errors wrap the errno they come from, so
// errors.Is(err, syscall.EPIPE) works. Byte counts are int64 everywhere.
//
// Package kphttp carries this into net/http: FileServer and GzipHandler.
package kpipe
