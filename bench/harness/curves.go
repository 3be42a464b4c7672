package harness

import (
	"math"
	"sort"
)

// A curvePoint is one point of a series' curve: what a case measured in one
// run, or what the curve gives at a size ratio.
type curvePoint struct {
	Ratio float64 // size ratio (uncompressed / compressed)
	Speed float64 // throughput: MB/s, or ops/s (see Curves.speedCost)
	Cost  float64 // CPU: seconds per GiB, or milliseconds per op
}

// A curvePlace says where a size ratio falls on a curve.
type curvePlace int

const (
	noCurve     curvePlace = iota // the curve has no point
	onCurve                       // between the curve's lowest and best ratios, both included
	belowCurve                    // below its lowest ratio
	beyondCurve                   // above its best ratio
)

// atRatio returns what the curve through points gives at size ratio x, and
// where x falls on it. The points are taken in order of ratio, the fastest
// of those that share a ratio; points without a positive ratio and
// throughput are left out. On the curve, the throughput and the CPU are
// interpolated linearly between the two points whose ratios enclose x (or
// are those of the point at x). Below the curve's lowest ratio the point of
// that ratio stands (for a compressor, its level 1: the fastest point that
// compresses at least as well). Beyond its best ratio no point compresses
// as well as x: atRatio returns the point of the best ratio, as the curve's
// end, and beyondCurve.
func atRatio(points []curvePoint, x float64) (curvePoint, curvePlace) {
	curve := make([]curvePoint, 0, len(points))
	for _, p := range points {
		if p.Ratio > 0 && p.Speed > 0 && !math.IsInf(p.Ratio, 0) && !math.IsInf(p.Speed, 0) {
			curve = append(curve, p)
		}
	}
	if len(curve) == 0 {
		return curvePoint{}, noCurve
	}
	sort.SliceStable(curve, func(i, j int) bool {
		if curve[i].Ratio != curve[j].Ratio {
			return curve[i].Ratio < curve[j].Ratio
		}
		return curve[i].Speed > curve[j].Speed
	})
	// Keep the fastest point of each ratio: the first after the sort.
	uniq := curve[:1]
	for _, p := range curve[1:] {
		if p.Ratio != uniq[len(uniq)-1].Ratio {
			uniq = append(uniq, p)
		}
	}
	curve = uniq
	lo, hi := curve[0], curve[len(curve)-1]
	switch {
	case x > hi.Ratio:
		return hi, beyondCurve
	case x < lo.Ratio:
		return lo, belowCurve
	}
	// The first point whose ratio is at least x; x >= lo.Ratio, so i > 0
	// unless x is the lowest ratio.
	i := sort.Search(len(curve), func(i int) bool { return curve[i].Ratio >= x })
	if curve[i].Ratio == x {
		return curve[i], onCurve
	}
	a, b := curve[i-1], curve[i]
	t := (x - a.Ratio) / (b.Ratio - a.Ratio)
	return curvePoint{
		Ratio: x,
		Speed: a.Speed + t*(b.Speed-a.Speed),
		Cost:  a.Cost + t*(b.Cost-a.Cost),
	}, onCurve
}

// samplePoint returns the curve point of one sample, its speed and cost
// the metrics speed and cost.
func samplePoint(s Sample, speed, cost Metric) curvePoint {
	return curvePoint{Ratio: s.SizeRatio(), Speed: speed.Value(s), Cost: cost.Value(s)}
}

// An equalRatioRow is one point of a series set against another series'
// curve at equal size ratio, over the runs in which both were measured.
type equalRatioRow struct {
	Point string
	// Runs is the number of runs behind the row: the point's runs in which
	// every point of the other curve ran too.
	Runs int
	// Own are the point's figures over those runs: its speed and CPU cost
	// (see Curves.speedCost) and its size ratio.
	Speed, Cost, Ratio Summary
	// Against are the other curve's speed and CPU cost at the point's
	// ratio; SpeedX is the point's speed over that one and CostX that CPU
	// cost over the point's ("times less CPU"), run by run. They cover the
	// runs that are not Beyond (CostX those with both CPU costs measured).
	AgainstSpeed, AgainstCost, SpeedX, CostX Summary
	// Beyond counts the runs in which the point's ratio was above the
	// other curve's best ratio, Best is that best ratio (its median);
	// Below counts those in which it was below the other curve's lowest
	// ratio, Lowest, whose point then stood in (see atRatio).
	Beyond, Below int
	Best, Lowest  Summary
	// Why says why the row has no figures ("" when it has).
	Why string
}

// Met reports whether the point is at least as fast as the other curve at
// its ratio (median of the runs), or compresses better than the other
// curve can at all.
func (r equalRatioRow) Met() bool {
	if r.Runs == 0 {
		return false
	}
	if r.SpeedX.N == 0 {
		return r.Beyond > 0
	}
	return r.SpeedX.Median >= 1
}

// equalRatioRows sets every point of the series er.Series in g against the
// curve of the series er.Against, run by run: run i of a point against the
// curve made of run i of each of Against's points. A run in which a point of
// Against did not run (failed, or capped by MaxRuns) is left out, so that
// every figure rests on a whole curve. speed and cost are the metrics set
// side by side (see Curves.speedCost).
func equalRatioRows(g GroupResult, er EqualRatio, speed, cost Metric) []equalRatioRow {
	var against []Result
	for _, r := range g.Rows {
		if r.Series == er.Against && r.Skip == "" && r.Err == nil && len(r.Samples) > 0 {
			against = append(against, r)
		}
	}
	curveRuns := 0
	if len(against) > 0 {
		curveRuns = len(against[0].Samples)
		for _, a := range against[1:] {
			curveRuns = min(curveRuns, len(a.Samples))
		}
	}
	var rows []equalRatioRow
	for _, r := range g.Rows {
		if r.Series != er.Series {
			continue
		}
		row := equalRatioRow{Point: r.Point, Why: noFigures(r)}
		if row.Why == "" && len(against) == 0 {
			row.Why = er.Against + " has no figures"
		}
		if row.Why != "" {
			rows = append(rows, row)
			continue
		}
		var fast, cpu, ratio, aFast, aCPU, fastX, cpuX, best, lowest []float64
		curve := make([]curvePoint, len(against))
		for i := 0; i < min(len(r.Samples), curveRuns); i++ {
			for j, a := range against {
				curve[j] = samplePoint(a.Samples[i], speed, cost)
			}
			own := samplePoint(r.Samples[i], speed, cost)
			at, place := atRatio(curve, own.Ratio)
			if place == noCurve || own.Speed <= 0 {
				continue
			}
			row.Runs++
			fast, cpu, ratio = append(fast, own.Speed), append(cpu, own.Cost), append(ratio, own.Ratio)
			if place == beyondCurve {
				row.Beyond++
				best = append(best, at.Ratio)
				continue
			}
			if place == belowCurve {
				row.Below++
				lowest = append(lowest, at.Ratio)
			}
			aFast, aCPU = append(aFast, at.Speed), append(aCPU, at.Cost)
			fastX = append(fastX, own.Speed/at.Speed)
			if own.Cost > 0 && at.Cost > 0 {
				cpuX = append(cpuX, at.Cost/own.Cost)
			}
		}
		if row.Runs == 0 {
			row.Why = "no run beside a whole curve of " + er.Against
		}
		row.Speed, row.Cost, row.Ratio = summarize(fast), summarize(cpu), summarize(ratio)
		row.AgainstSpeed, row.AgainstCost = summarize(aFast), summarize(aCPU)
		row.SpeedX, row.CostX = summarize(fastX), summarize(cpuX)
		row.Best, row.Lowest = summarize(best), summarize(lowest)
		rows = append(rows, row)
	}
	return rows
}

// noFigures says why r has no figures ("skipped: ...", "failed: ..." or
// "not run"), or returns "" when it has some.
func noFigures(r Result) string {
	switch {
	case r.Skip != "":
		return "skipped: " + r.Skip
	case r.Err != nil:
		return "failed: " + r.Err.Error()
	case len(r.Samples) == 0:
		return "not run"
	}
	return ""
}
