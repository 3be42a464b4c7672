package harness

import (
	"os"
	"testing"
)

// memTestDir returns a fresh directory in memory (/dev/shm where there is
// one) that the test removes at its end.
func memTestDir(t *testing.T) string {
	t.Helper()
	parent := "/dev/shm"
	if st, err := os.Stat(parent); err != nil || !st.IsDir() {
		parent = ""
	}
	dir, err := os.MkdirTemp(parent, "kpipe-harness-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// sampleOf returns the sample of r, a row of a run with Runs: 1, and
// whether it has one: a skipped row is logged, and a row that failed or
// has another number of samples fails the test. where, the row's section or
// setting, begins the messages.
func sampleOf(t *testing.T, where string, r Result) (Sample, bool) {
	t.Helper()
	switch {
	case r.Skip != "":
		t.Logf("%s: %s skipped: %s", where, r.Peer, r.Skip)
	case r.Err != nil:
		t.Errorf("%s: %s: %v", where, r.Peer, r.Err)
	case len(r.Samples) != 1:
		t.Errorf("%s: %s: %d samples, want 1", where, r.Peer, len(r.Samples))
	default:
		return r.Samples[0], true
	}
	return Sample{}, false
}
