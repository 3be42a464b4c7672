package harness

import (
	"os"
	"testing"
)

// TestMain lets the test binary be the harness's child process: run as
// `TESTBINARY -child NAME ARGS...`, it runs the child NAME (ChildMain exits);
// otherwise it runs the tests.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == ChildFlag {
		ChildMain()
	}
	os.Exit(m.Run())
}
