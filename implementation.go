package kpipe

import "github.com/kpipe/kpipe/internal/core"

// The implementations a build of kpipe can have, as Implementation reports
// them. The API and its results are the same in all three; what differs is
// how the bytes move.
const (
	// ImplLinuxCgo is Linux with cgo: the C core. Pipe, Splice, Tee and
	// Copy move data in the kernel (splice, tee, copy_file_range,
	// sendfile); DoubleSplice and Proxy run on the poll backend or on
	// io_uring; compression is the C zlib, looping between descriptors in
	// C.
	ImplLinuxCgo = "linux-cgo"
	// ImplLinuxGo is Linux without cgo (CGO_ENABLED=0): the same system
	// calls made from Go, so Pipe, Splice, Tee, Copy, DoubleSplice and
	// Proxy are still zero-copy, on the poll backend only (the io_uring
	// backend is C); compression is Go code (klauspost/compress's
	// deflate inside kpipe's zlib and gzip framing).
	ImplLinuxGo = "linux-go"
	// ImplPortable is every other platform (macOS, the BSDs, Windows, ...):
	// Pipe is os.Pipe, Splice and Tee return an error matching
	// errors.ErrUnsupported, Copy is io.Copy, DoubleSplice and Proxy copy
	// through a buffer, and compression is as in ImplLinuxGo.
	ImplPortable = "portable"
)

// Implementation reports which implementation this build of kpipe has:
// ImplLinuxCgo, ImplLinuxGo or ImplPortable.
func Implementation() string { return core.Implementation() }

// ZlibVersion returns the version of the C zlib library kpipe runs with, as
// zlib's zlibVersion() reports it (for example "1.2.13"); "" in builds
// without the C core, whose compression is Go code.
func ZlibVersion() string { return core.ZlibVersion() }

// CompressionEngine names what compresses and decompresses in this
// process, the engines joined by "+": "isa-l" where ISA-L runs inflate and
// deflate at levels 1 to 3, "libdeflate" where libdeflate compresses at
// levels 4 to 9 the inputs whose size is known at the start (memory
// readers, regular files; see Codec.Level), and "zlib", which runs the
// rest. It is "zlib" alone where neither library is there (built without
// their headers, libisal.so.2 or libdeflate.so.0 missing at run time, or
// KPIPE_ZENGINE=zlib set), and "go" in builds without the C core
// (klauspost/compress). Every engine writes and reads standard zlib and
// gzip streams, with the same checks and errors.
func CompressionEngine() string { return core.CompressionEngine() }
