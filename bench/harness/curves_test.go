package harness

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestAtRatio(t *testing.T) {
	// A curve as a compressor's levels draw it: faster at lower ratios.
	curve := []curvePoint{{3.0, 400, 2.5}, {3.2, 300, 3.3}, {3.5, 100, 10}}
	shuffled := []curvePoint{curve[2], curve[0], curve[1]}
	for _, c := range []struct {
		name   string
		points []curvePoint
		x      float64
		want   curvePoint
		place  curvePlace
	}{
		{"between the first two", curve, 3.1, curvePoint{3.1, 350, 2.9}, onCurve},
		{"a quarter of the way", curve, 3.05, curvePoint{3.05, 375, 2.7}, onCurve},
		{"between the last two", curve, 3.35, curvePoint{3.35, 200, 6.65}, onCurve},
		{"on a point", curve, 3.2, curvePoint{3.2, 300, 3.3}, onCurve},
		{"on the lowest ratio", curve, 3.0, curvePoint{3.0, 400, 2.5}, onCurve},
		{"on the best ratio", curve, 3.5, curvePoint{3.5, 100, 10}, onCurve},
		{"below: the lowest-ratio point stands", curve, 2.9, curvePoint{3.0, 400, 2.5}, belowCurve},
		{"beyond: the best point, as the end", curve, 3.6, curvePoint{3.5, 100, 10}, beyondCurve},
		{"points in any order", shuffled, 3.1, curvePoint{3.1, 350, 2.9}, onCurve},
		{"the fastest of a shared ratio", []curvePoint{{3.0, 400, 2.5}, {3.2, 250, 4}, {3.2, 300, 3.3}}, 3.1, curvePoint{3.1, 350, 2.9}, onCurve},
		{"a speed that rises with ratio", []curvePoint{{3.0, 100, 8}, {4.0, 200, 4}}, 3.75, curvePoint{3.75, 175, 5}, onCurve},
		{"points without figures are left out", []curvePoint{{0, 500, 1}, {3.0, 0, 1}, {3.0, 400, 2.5}, {3.2, 300, 3.3}}, 3.1, curvePoint{3.1, 350, 2.9}, onCurve},
		{"one point, on it", []curvePoint{{3.0, 400, 2.5}}, 3.0, curvePoint{3.0, 400, 2.5}, onCurve},
		{"one point, below", []curvePoint{{3.0, 400, 2.5}}, 2.0, curvePoint{3.0, 400, 2.5}, belowCurve},
		{"one point, beyond", []curvePoint{{3.0, 400, 2.5}}, 3.01, curvePoint{3.0, 400, 2.5}, beyondCurve},
		{"no point", nil, 3.0, curvePoint{}, noCurve},
	} {
		got, place := atRatio(c.points, c.x)
		if place != c.place || !near(got.Ratio, c.want.Ratio) || !near(got.Speed, c.want.Speed) || !near(got.Cost, c.want.Cost) {
			t.Errorf("%s: atRatio(%v, %v) = %+v, %d; want %+v, %d", c.name, c.points, c.x, got, place, c.want, c.place)
		}
	}
}

// near reports whether a and b agree to 1e-9, relatively.
func near(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b))
}

// ratioSample returns a sample of 1e6 bytes compressed to out bytes at mbps
// MB/s.
func ratioSample(mbps float64, out int64) Sample {
	s := mbSample(mbps, 0)
	s.Out = out
	return s
}

func TestEqualRatioRows(t *testing.T) {
	// Against's curve at ratios 2 (1e6/500000) and 4 (1e6/250000); in run
	// 2 it is twice as fast as in run 1. Its last point ran only twice.
	g := GroupResult{Rows: []Result{
		{Peer: "a 1", Series: "a", Point: "1", Samples: []Sample{ratioSample(400, 500000), ratioSample(800, 500000), ratioSample(800, 500000)}},
		{Peer: "a 9", Series: "a", Point: "9", Samples: []Sample{ratioSample(100, 250000), ratioSample(200, 250000)}},
		// Ratio 3: halfway, where a runs at 250 then 500 MB/s.
		{Peer: "s 1", Series: "s", Point: "1", Samples: []Sample{ratioSample(500, 333333), ratioSample(500, 333333), ratioSample(500, 333333)}},
		// Ratio 5: beyond a's best.
		{Peer: "s 9", Series: "s", Point: "9", Samples: []Sample{ratioSample(50, 200000), ratioSample(60, 200000)}},
		// Ratio 1.6: below a's lowest; a's ratio-2 point stands.
		{Peer: "s 0", Series: "s", Point: "0", Samples: []Sample{ratioSample(200, 625000), ratioSample(400, 625000)}},
		{Peer: "s 5", Series: "s", Point: "5", Skip: "not here"},
		{Peer: "s 6", Series: "s", Point: "6", Err: errors.New("broke")},
		{Peer: "other", Series: "b", Point: "1", Samples: []Sample{ratioSample(1, 500000)}},
	}}
	rows := equalRatioRows(g, EqualRatio{Series: "s", Against: "a"}, Throughput, CPUPerGiB)
	if len(rows) != 5 {
		t.Fatalf("%d rows, want 5: %+v", len(rows), rows)
	}
	// Point 1: two runs (a's curve is whole in runs 1 and 2 only); a at
	// ratio 3 runs at about 250 then 500 MB/s: speed 2.0 and 1.0.
	r := rows[0]
	if r.Point != "1" || r.Runs != 2 || r.Beyond != 0 || r.Below != 0 || !r.Met() {
		t.Errorf("point 1: %+v", r)
	}
	if !approx(r.AgainstSpeed.Median, 375, 0.01) || !approx(r.SpeedX.Min, 1, 0.001) || !approx(r.SpeedX.Max, 2, 0.001) || !approx(r.SpeedX.Median, 1.5, 0.001) {
		t.Errorf("point 1: against %+v, speed %+v", r.AgainstSpeed, r.SpeedX)
	}
	if !approx(r.Ratio.Median, 3, 0.0001) {
		t.Errorf("point 1: ratio %+v", r.Ratio)
	}
	// Point 9: beyond a's best ratio (4) in both runs: met.
	r = rows[1]
	if r.Runs != 2 || r.Beyond != 2 || r.SpeedX.N != 0 || !near(r.Best.Median, 4) || !r.Met() {
		t.Errorf("point 9: %+v", r)
	}
	// Point 0: below a's lowest ratio: set against a's ratio-2 point,
	// 400 then 800 MB/s: speed 0.5 both times, not met.
	r = rows[2]
	if r.Runs != 2 || r.Below != 2 || !near(r.Lowest.Median, 2) || !near(r.SpeedX.Median, 0.5) || !near(r.AgainstSpeed.Median, 600) || r.Met() {
		t.Errorf("point 0: %+v", r)
	}
	if rows[3].Why == "" || rows[3].Runs != 0 || rows[4].Why == "" || rows[4].Runs != 0 {
		t.Errorf("skipped and failed points: %+v, %+v", rows[3], rows[4])
	}
	if rows := equalRatioRows(g, EqualRatio{Series: "s", Against: "none"}, Throughput, CPUPerGiB); len(rows) != 5 || rows[0].Why == "" || rows[0].Met() {
		t.Errorf("against a missing series: %+v", rows)
	}
}

// approx reports whether a is within tol of b.
func approx(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestRunMaxRuns(t *testing.T) {
	var order []string
	run := func(name string) func(context.Context) (Sample, error) {
		return func(context.Context) (Sample, error) {
			order = append(order, name)
			return Sample{Bytes: 1, Elapsed: time.Millisecond}, nil
		}
	}
	sections := []Section{{Name: "s", Metrics: []Metric{Throughput}, Groups: []Group{{Setting: "g", Cases: []Case{
		{Peer: "fast", Run: run("fast")},
		{Peer: "slow", MaxRuns: 2, Run: run("slow")},
		{Peer: "capped above", MaxRuns: 9, Run: run("above")},
	}}}}}
	results, err := Run(context.Background(), sections, Options{Runs: 3})
	if err != nil {
		t.Fatal(err)
	}
	want := "fast slow above fast slow above fast above"
	if got := strings.Join(order, " "); got != want {
		t.Errorf("runs in order %q, want %q", got, want)
	}
	for i, n := range []int{3, 2, 3} {
		if got := len(results[0].Groups[0].Rows[i].Samples); got != n {
			t.Errorf("case %d: %d samples, want %d", i, got, n)
		}
	}
	if got := countRuns(sections, 3); got != 8 {
		t.Errorf("countRuns = %d, want 8", got)
	}
}
