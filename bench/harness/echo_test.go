package harness

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

// echoTestSizes are tiny sizes of the echo sections, for the tests.
var echoTestSizes = echoSizes{roundTrips: 300, message: 64, streamConns: 16, streamTotal: 1<<20 + 5}

// TestEchoSections runs both echo sections with tiny sizes and checks that
// every case that is not skipped gave a sample with the right operations
// and bytes, and that no server process is left.
func TestEchoSections(t *testing.T) {
	cfg := proxyTestConfig(t)
	pids := proxyRecordPIDs(t)
	secs := echoSections(cfg, echoTestSizes)
	if len(secs) != 2 {
		t.Fatalf("%d sections, want 2", len(secs))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := Run(ctx, secs, Options{Runs: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := []Sample{
		{Ops: int64(echoTestSizes.roundTrips), Bytes: int64(echoTestSizes.roundTrips * echoTestSizes.message)},
		{Bytes: echoTestSizes.streamTotal},
	}
	for i, sr := range res {
		ran := 0
		for _, g := range sr.Groups {
			for _, r := range g.Rows {
				if r.Skip == "" {
					ran++
				}
				s, ok := sampleOf(t, sr.Name, r)
				if !ok {
					continue
				}
				if s.Ops != want[i].Ops || s.Bytes != want[i].Bytes || s.Elapsed <= 0 {
					t.Errorf("%s: %s: sample %+v, want %d ops, %d bytes", sr.Name, r.Peer, s, want[i].Ops, want[i].Bytes)
				}
			}
		}
		if ran < 2 {
			t.Errorf("%s: %d cases ran, want at least 2", sr.Name, ran)
		}
	}
	proxyCheckGone(t, pids)
}

// TestEchoRunCancelled checks that a run past its deadline ends promptly
// with the context's error and stops its server.
func TestEchoRunCancelled(t *testing.T) {
	pids := proxyRecordPIDs(t)
	l := &lazyServer{start: func(ctx context.Context) (*serverProc, error) {
		return startChildServer(ctx, os.Args[0], "echo io.Copy", echoChildName, echoIOCopy)
	}}
	defer l.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := l.get(ctx); err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := runAgainst(ctx, l, func(ctx context.Context, addr string) (Sample, error) {
		return Sample{}, echoStreams(ctx, addr, 16, 1<<40) // far more than the deadline allows
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a run past its deadline: %v, want the context's error", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the cancelled run took %s", d)
	}
	if l.proc != nil {
		t.Error("the server still runs after a failed run")
	}
	t.Logf("error: %v", err)
	proxyCheckGone(t, pids)
}
