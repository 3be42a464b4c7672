//go:build !race && !asan

package core

// raceEnabled reports whether the tests run under the race detector or
// AddressSanitizer, whose instrumentation allocates (AddressSanitizer moves
// the buffers handed to system calls to the heap) and so defeats the
// allocation tests.
const raceEnabled = false
