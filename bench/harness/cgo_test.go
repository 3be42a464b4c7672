package harness

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/kpipe/kpipe"
)

// openFDs returns the number of descriptors the process has open, once
// Go's runtime poller, which opens its own on first use, is running.
func openFDs(t *testing.T) int {
	t.Helper()
	p, err := kpipe.NewPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestCgoSection runs every cgo overhead case once and checks that each
// did the operations asked, in a positive time, and closed its descriptors.
func TestCgoSection(t *testing.T) {
	const ops = 2000
	before := openFDs(t)
	res, err := Run(context.Background(), []Section{cgoSection(ops)}, Options{Runs: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || len(res[0].Groups) != 2 {
		t.Fatalf("got %+v, want one section of two groups", res)
	}
	for _, g := range res[0].Groups {
		if len(g.Rows) != 2 {
			t.Errorf("%s: %d rows, want 2", g.Setting, len(g.Rows))
		}
		for _, r := range g.Rows {
			if r.Skip != "" || r.Err != nil || len(r.Samples) != 1 {
				t.Errorf("%s %s: skip %q, error %v, %d samples", g.Setting, r.Peer, r.Skip, r.Err, len(r.Samples))
				continue
			}
			s := r.Samples[0]
			if s.Ops != ops || s.Elapsed <= 0 {
				t.Errorf("%s %s: sample %+v, want %d ops in a positive time", g.Setting, r.Peer, s, ops)
			}
			t.Logf("%s %-26s %7.0f ns/op", g.Setting, r.Peer, s.NsPerOp())
		}
	}
	if after := openFDs(t); after != before {
		t.Errorf("%d descriptors open after the runs, %d before", after, before)
	}
}

// TestCgoRunCancelled checks that a run whose context is done returns its
// error and closes what it opened.
func TestCgoRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	before := openFDs(t)
	for _, prepare := range []cgoStepper{rawSpliceStep, kpipeSpliceStep, rawTeeStep, kpipeTeeStep} {
		if _, err := cgoRun(1000, prepare)(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled run: %v, want context.Canceled", err)
		}
	}
	if after := openFDs(t); after != before {
		t.Errorf("%d descriptors open after the runs, %d before", after, before)
	}
}

// TestCgoRegistered checks the shape of the section of a quick and a full
// run: one section measured in ns/op whose groups compare against their
// first peer.
func TestCgoRegistered(t *testing.T) {
	for _, quick := range []bool{true, false} {
		secs := CgoSections(Config{Quick: quick})
		if len(secs) != 1 || secs[0].Metrics[0] != NsPerOp {
			t.Fatalf("quick=%v: %+v", quick, secs)
		}
		for _, g := range secs[0].Groups {
			if g.Baseline != g.Cases[0].Peer {
				t.Errorf("%s: baseline %q is not the first peer %q", g.Setting, g.Baseline, g.Cases[0].Peer)
			}
		}
	}
}
