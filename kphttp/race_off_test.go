//go:build !race

package kphttp

// raceEnabled reports whether the tests run under the race detector, whose
// instrumentation allocates and so defeats the allocation tests.
const raceEnabled = false
