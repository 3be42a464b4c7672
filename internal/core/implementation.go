package core

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

// Implementation implements kpipe.Implementation, which documents it.
func Implementation() string { return implementation }
