package harness

import (
	"os"
	"path/filepath"
	"testing"
)

// TestParseStraceSummary reads a table as strace -c writes it, with a total
// line that leaves usecs/call empty.
func TestParseStraceSummary(t *testing.T) {
	const table = `% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ------------------
 43.20    0.870410        1140       763         6 futex
  7.45    0.150092          43      3462       360 splice
  2.61    0.052596          25      2053           epoll_ctl
  1.00    0.010000          10       100           io_uring_enter
------ ----------- ----------- --------- --------- ------------------
100.00    1.083098                  6378       366 total
`
	path := filepath.Join(t.TempDir(), "strace.txt")
	if err := os.WriteFile(path, []byte(table), 0o644); err != nil {
		t.Fatal(err)
	}
	calls, io, err := parseStraceSummary(path)
	if err != nil || calls != 6378 || io != 3562 {
		t.Fatalf("parseStraceSummary = %d, %d, %v; want 6378, 3562, nil", calls, io, err)
	}
	if err := os.WriteFile(path, []byte("strace: no table\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := parseStraceSummary(path); err == nil {
		t.Fatal("a file without a total line parsed")
	}
}
