// Package core is kpipe's implementation; package kpipe, at the module
// root, is its API and its documentation, and hands the caller's endpoints
// to the functions of the same names here.
//
// A file's name says which builds compile it: _linux.go Linux, _other.go
// every other system, _cgo.go Linux with cgo (the C core), _nocgo.go the
// builds without it (bindings_nocgo.go: Linux's alone); files without a
// suffix are in every build.
//
// The layers, each in one place:
//
//   - endpoints and operations: endpoint_linux.go resolves an io.Reader or
//     io.Writer to a descriptor, fdop_linux.go runs one operation on it in
//     Go's runtime poller, pool_linux.go lends the private pipes in the
//     middle of a transfer;
//   - single system calls: sys_linux.go, on golang.org/x/sys/unix, in both
//     Linux builds;
//   - loops that make many system calls, or call C libraries, in C
//     (csrc/, compiled here by cgo through kpipe_core.c): bindings_cgo.go
//     (the splice, copy_file_range and sendfile loops), ring_cgo.go and
//     uring_cgo.go (the io_uring backend), zstream_cgo.go and
//     ztransfer_cgo.go (the compression engines); the _nocgo.go files are
//     the same layers without C;
//   - the families of the API: splice, copy, chunked, engine (with
//     pollengine_linux.go, pollproxy.go, deadline.go, fdpair_linux.go),
//     zlib, zheader and zwriter, each a file for every build and its
//     _linux, _other, _cgo or _nocgo variants.
package core
