//go:build race || asan

package testprog

// Instrumented reports whether the tests run under the race detector or
// AddressSanitizer, whose instrumentation allocates (AddressSanitizer moves
// the buffers handed to system calls to the heap) and so defeats the
// allocation tests.
const Instrumented = true
