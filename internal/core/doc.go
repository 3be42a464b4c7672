// Package core is kpipe's implementation; package kpipe, at the module
// root, is its API and its documentation, and hands the caller's endpoints
// to the functions of the same names here.
//
// The layers, each in one place:
//
//   - endpoints and operations: endpoint.go resolves an io.Reader or
//     io.Writer to a descriptor, fdop.go runs one operation on it in Go's
//     runtime poller, pool.go lends the private pipes in the middle of a
//     transfer;
//   - single system calls: sys_linux.go, on golang.org/x/sys/unix, in both
//     Linux builds;
//   - loops that make many system calls, or call C libraries, in C
//     (csrc/, compiled here by cgo through kpipe_core.c): bindings.go (the
//     splice, copy_file_range and sendfile loops), ring.go and uring.go (the
//     io_uring backend), zstream.go and ztransfer.go (the compression
//     engines); bindings_nocgo.go, ring_stub.go and the _purego files are
//     the same layers without C;
//   - the families of the API: splice.go, copy*.go, chunked*.go, engine*.go
//     with pollengine.go, pollproxy.go and deadline.go, zlib*.go, zheader*.go
//     and zwriter*.go; _other.go files hold what other systems do.
package core
