package harness

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// proxyTestSizes are tiny sizes of the TCP proxy section, for the tests.
var proxyTestSizes = proxySizes{conns: []int{1, 16}, total: 2<<20 + 3, warm: 64 << 10}

// TestProxySection runs the TCP proxy section with tiny sizes and checks
// that every case that is not skipped gave a sample of the right size and
// that no server process is left.
func TestProxySection(t *testing.T) {
	cfg := proxyTestConfig(t)
	pids := proxyRecordPIDs(t)
	sec := proxySection(cfg, proxyTestSizes)
	if len(sec.Groups) != len(proxyTestSizes.conns) {
		t.Fatalf("%d groups, want %d", len(sec.Groups), len(proxyTestSizes.conns))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := Run(ctx, []Section{sec}, Options{Runs: 1})
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, g := range res[0].Groups {
		if g.Err != nil {
			t.Errorf("%s: setup: %v", g.Setting, g.Err)
		}
		for _, r := range g.Rows {
			if r.Skip == "" {
				ran++
			}
			s, ok := sampleOf(t, g.Setting, r)
			if !ok {
				continue
			}
			if s.Bytes != proxyTestSizes.total || s.Elapsed <= 0 || s.CPU < 0 {
				t.Errorf("%s: %s: sample %+v, want %d bytes in a positive time", g.Setting, r.Peer, s, proxyTestSizes.total)
			}
		}
	}
	// io.Copy, user-space and kpipe poll run everywhere.
	if want := 3 * len(proxyTestSizes.conns); ran < want {
		t.Errorf("%d cases ran, want at least %d", ran, want)
	}
	proxyCheckGone(t, pids)
}

// TestProxyHAProxySkip checks that the HAProxy peer is skipped with the
// reason when haproxy is not in PATH.
func TestProxyHAProxySkip(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	for _, p := range proxyPeers(Config{}) {
		if strings.HasPrefix(p.name, "HAProxy") {
			if p.skip != haproxyMissing {
				t.Errorf("HAProxy peer without haproxy in PATH: skip %q, want %q", p.skip, haproxyMissing)
			}
			return
		}
	}
	t.Error("no HAProxy peer")
}

// TestProxyFailingServer checks that a proxy child that cannot start gives
// a clear error and leaves no process behind.
func TestProxyFailingServer(t *testing.T) {
	pids := proxyRecordPIDs(t)
	_, err := startChildServer(context.Background(), os.Args[0], "proxy nowhere", proxyChildName, "no-such-kind", "127.0.0.1:1")
	if err == nil || !strings.Contains(err.Error(), "no proxy kind") {
		t.Errorf("start of a bad proxy kind: %v, want an error quoting the child's stderr", err)
	}
	proxyCheckGone(t, pids)
}

// proxyTestConfig returns a Config for the tests: the test binary as Self
// (TestMain runs its children) and a work directory in memory.
func proxyTestConfig(t *testing.T) Config {
	t.Helper()
	return Config{Quick: true, Dir: memTestDir(t), Self: os.Args[0]}
}

// proxyRecordPIDs makes serverStarted record the pids of the server
// processes started until the test ends.
func proxyRecordPIDs(t *testing.T) func() []int {
	t.Helper()
	var mu sync.Mutex
	var pids []int
	old := serverStarted
	serverStarted = func(pid int) {
		mu.Lock()
		pids = append(pids, pid)
		mu.Unlock()
	}
	t.Cleanup(func() { serverStarted = old })
	return func() []int {
		mu.Lock()
		defer mu.Unlock()
		return append([]int(nil), pids...)
	}
}

// proxyCheckGone checks that the recorded server processes are gone and
// that the test process has no child process left.
func proxyCheckGone(t *testing.T, pids func() []int) {
	t.Helper()
	started := pids()
	if len(started) == 0 {
		t.Error("no server process was started")
	}
	for _, pid := range started {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			t.Errorf("server process %d is still there", pid)
		}
	}
	if left := proxyChildrenOf(os.Getpid()); len(left) > 0 {
		t.Errorf("child processes left: %v", left)
	}
}

// proxyChildrenOf returns the pids of the processes whose parent is pid,
// zombies included, from /proc.
func proxyChildrenOf(pid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", n))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, n)
		}
	}
	return out
}
