package harness

import (
	"encoding/xml"
	"errors"
	"strings"
	"testing"
	"time"
)

// curvesFixture returns a sweep section of hand-made results: the series k
// and a (a's third point ran twice), and a series whose program is missing.
func curvesFixture() SectionResult {
	pt := func(series, point string, samples ...Sample) Result {
		return Result{Peer: series + ", level " + point, Series: series, Point: point, Samples: samples}
	}
	g := GroupResult{Setting: "sample, 1 MB", Rows: []Result{
		// k: ratios 2.5, 3.5 and 5; a: ratios 2, 3 and 4.
		pt("k", "1", ratioSample(500, 400000), ratioSample(600, 400000), ratioSample(400, 400000)),
		pt("k", "2", ratioSample(150, 285714), ratioSample(150, 285714), ratioSample(150, 285714)),
		pt("k", "3", ratioSample(20, 200000), ratioSample(20, 200000)),
		pt("a", "1", ratioSample(400, 500000), ratioSample(400, 500000), ratioSample(400, 500000)),
		pt("a", "2", ratioSample(200, 333333), ratioSample(200, 333333), ratioSample(200, 333333)),
		pt("a", "3", ratioSample(100, 250000), ratioSample(100, 250000), ratioSample(100, 250000)),
		{Peer: "missing, level 1", Series: "missing", Point: "1", Skip: "missing is not in PATH"},
	}}
	return SectionResult{
		Name: "Gzip levels", About: "A sweep.", Metrics: []Metric{Throughput, CPUPerGiB, SizeRatio},
		Curves: &Curves{Point: "Level", EqualRatio: []EqualRatio{{Series: "k", Against: "a"}}},
		Groups: []GroupResult{g},
	}
}

func TestWriteMarkdownCurves(t *testing.T) {
	md := markdown(t, Config{}, 3, []SectionResult{curvesFixture()})
	checkContains(t, "markdown", md,
		// No baseline: no ratio column.
		"| Setting | Peer | MB/s | CPU s/GiB | size ratio | Runs |",
		"| sample, 1 MB | k, level 1 | 500 (400–600) |",
		"| | k, level 3 | 20.0 |",
		"| 5.00 | 2 |",
		"skipped: missing is not in PATH",
		"(of fewer runs where the Runs column says so: slow cases run fewer times).",
		"### k against a at equal ratio",
		"| Setting | Level | k MB/s | CPU s/GiB | size ratio | a MB/s at that ratio | CPU s/GiB | × vs a | × less CPU | Runs |",
		// Level 1, ratio 2.5: a at 300 MB/s, k 500 (400–600).
		"| sample, 1 MB | 1 | 500 (400–600) | — | 2.50 | 300 | — | 1.67× (1.33–2.00) | — | 3 |",
		// Level 2, ratio 3.5: a at 150 MB/s.
		"| | 2 | 150 | — | 3.50 | 150 | — | 1.00× | — | 3 |",
		"| | 3 | 20.0 | — | 5.00 | beyond a's best ratio (4.00) | — | met | — | 2 |",
		"k is at least as fast as a at equal size ratio at 3 of 3 levels",
	)
	if strings.Contains(md, "× vs baseline") || strings.Contains(md, "ratios are computed run by run (each run against the baseline") {
		t.Error("a section without a baseline has a ratio column")
	}
	if t.Failed() {
		t.Log(md)
	}
}

// opSample returns a sample of 100 operations of 1e6 bytes each at ops
// per second, cpu milliseconds of CPU each, compressed to out bytes each.
func opSample(ops, cpu float64, out int64) Sample {
	return Sample{Ops: 100, Bytes: 100 * 1e6, Out: 100 * out, Elapsed: time.Duration(100 / ops * float64(time.Second)),
		CPU: time.Duration(100 * cpu * float64(time.Millisecond))}
}

// TestWriteMarkdownPerOp checks the tables of a sweep in operations: the
// equal-ratio table with its CPU ratio, and the table against the baseline.
func TestWriteMarkdownPerOp(t *testing.T) {
	g := GroupResult{Setting: "s", Baseline: "a default", Rows: []Result{
		// k at ratio 2.5; a's curve from ratio 2 (200 ops/s, 4 ms) to 4
		// (100 ops/s, 8 ms) gives 175 ops/s and 5 ms there.
		{Peer: "k 1", Series: "k", Point: "1", Samples: []Sample{opSample(300, 2, 400000)}},
		{Peer: "k 2", Series: "k", Point: "2", Err: errors.New("broke")},
		{Peer: "a 1", Series: "a", Point: "1", Samples: []Sample{opSample(200, 4, 500000)}},
		{Peer: "a default", Series: "a", Point: "5", Samples: []Sample{opSample(100, 8, 250000)}},
	}}
	sr := SectionResult{Name: "Handlers", Metrics: []Metric{OpsPerSec, SizeRatio, CPUPerOp}, Groups: []GroupResult{g},
		Curves: &Curves{Point: "Level", PerOp: true, EqualRatio: []EqualRatio{{Series: "k", Against: "a"}}, AgainstBaseline: []string{"k"}}}
	md := markdown(t, Config{}, 1, []SectionResult{sr})
	checkContains(t, "markdown", md,
		"| Setting | Peer | ops/s | size ratio | CPU ms/op | × vs a default | Runs |",
		"| Setting | Level | k ops/s | CPU ms/op | size ratio | a ops/s at that ratio | CPU ms/op | × vs a | × less CPU | Runs |",
		"| s | 1 | 300 | 2.00 | 2.50 | 175 | 5.00 | 1.71× | 2.50× | 1 |",
		"and uses less CPU at 1 of the 1 where both CPU figures exist. a's ops/s and CPU ms/op at a ratio are interpolated",
		"### k against a default",
		"| Setting | Level | k ops/s | CPU ms/op | size ratio | baseline ops/s | CPU ms/op | size ratio | × vs baseline | × less CPU | Runs |",
		"| s | 1 | 300 | 2.00 | 2.50 | 100 | 8.00 | 4.00 | 3.00× | 4.00× | 1 |",
		"| | 2 | failed: broke | — | — | — | — | — | — | — | 0 |",
	)
	if t.Failed() {
		t.Log(md)
	}
}

func TestWriteSVGCurves(t *testing.T) {
	svg := chart(t, append(reportFixture(), curvesFixture()))
	curves, points, bars := 0, 0, 0
	var texts []string
	stroke := map[string]bool{}
	walkSVG(t, svg, func(el xml.StartElement) {
		switch {
		case el.Name.Local == "path" && attr(el, "class") == "curve":
			curves++
			stroke[attr(el, "stroke")] = true
		case el.Name.Local == "circle" && attr(el, "class") == "point":
			points++
		case el.Name.Local == "rect" && attr(el, "class") == "bar":
			bars++
		}
	}, func(s string, inText bool) {
		if inText {
			texts = append(texts, s)
		}
	})
	if curves != 2 || len(stroke) != 2 {
		t.Errorf("%d curves in %d colours, want 2 in 2", curves, len(stroke))
	}
	if points != 6 {
		t.Errorf("%d points, want 6", points)
	}
	if bars != 8 {
		t.Errorf("%d bars, want the 4 of File copy's MB/s and CPU panels each (the sweep draws none)", bars)
	}
	checkContains(t, "chart text", strings.Join(texts, "\n"),
		"Gzip levels (MB/s against size ratio)", "sample, 1 MB", "MB/s (log scale)", "missing: no figures", "k", "a")
	if strings.Contains(svg, "NaN") || strings.Contains(svg, "Inf") {
		t.Error("chart has NaN or Inf coordinates")
	}
	if t.Failed() {
		t.Log(svg)
	}
}

func TestLogTicks(t *testing.T) {
	got := logTicks(10, 1000)
	want := []float64{10, 20, 50, 100, 200, 500, 1000}
	if len(got) != len(want) {
		t.Fatalf("logTicks(10, 1000) = %v, want %v", got, want)
	}
	for i := range want {
		if !near(got[i], want[i]) {
			t.Fatalf("logTicks(10, 1000) = %v, want %v", got, want)
		}
	}
}
