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
//     uring_cgo.go (the io_uring backend), zstream_cgo.go (the C
//     compression stream) and zlib_cgo.go (a stream run between
//     endpoints); the _nocgo.go files are the same layers without C;
//   - the families of the API: splice, copy, chunked, engine (with
//     pollengine_linux.go, pollproxy.go, deadline.go, fdpair_linux.go),
//     zlib, zheader and zwriter, each a file for every build and its
//     _linux, _other, _cgo or _nocgo variants.
//
// Following a call down to the kernel, on Linux with cgo:
//
//   - Gunzip between two descriptors: Codec.Gunzip (zlib.go) sets up a
//     pooled C stream and runs it (decompress, transfer, pump in
//     zlib_cgo.go); each step is an fdOp (fdop_linux.go) that holds one
//     endpoint in the runtime poller (endpoint_linux.go) and calls the C
//     step (zstream_cgo.go), which reads, inflates and writes in
//     csrc/zstream.c and csrc/zio.c until a side would block.
//   - Proxy on the poll backend: Engine.Proxy (engine.go) runs a double
//     splice per direction (pollproxy.go, pollengine_linux.go); each is an
//     fdOp, as above, whose system call is the C loop kp_splice_via
//     (bindings_cgo.go, csrc/splice.c): splice(2) into a pooled pipe and
//     out of it until a side would block.
package core
