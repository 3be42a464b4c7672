//go:build !race && !asan

package testprog

// Instrumented reports whether the tests run under the race detector or
// AddressSanitizer; see race_on.go.
const Instrumented = false
