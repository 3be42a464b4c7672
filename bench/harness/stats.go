package harness

import "sort"

// A Summary is the median, minimum and maximum of a figure over runs.
type Summary struct {
	Median, Min, Max float64
	N                int // number of values summarised; 0: no figure
}

// summarize returns the summary of vs (the zero Summary if vs is empty).
func summarize(vs []float64) Summary {
	if len(vs) == 0 {
		return Summary{}
	}
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Summary{Median: med, Min: s[0], Max: s[len(s)-1], N: len(s)}
}

// Summary returns the summary of metric m over r's samples.
func (r Result) Summary(m Metric) Summary {
	vs := make([]float64, 0, len(r.Samples))
	for _, s := range r.Samples {
		vs = append(vs, m.Value(s))
	}
	return summarize(vs)
}

// Row returns the result of peer in g, or false.
func (g GroupResult) Row(peer string) (Result, bool) {
	for _, r := range g.Rows {
		if r.Peer == peer {
			return r, true
		}
	}
	return Result{}, false
}

// Ratio returns how many times better than the group's baseline peer is on
// metric m ("how much faster" for a throughput, "how much less" for a cost),
// computed run by run (run i of peer against run i of the baseline, which
// ran beside it) and then summarised. It returns false when the baseline or
// the peer has no figures.
func (g GroupResult) Ratio(peer string, m Metric) (Summary, bool) {
	base, ok := g.Row(g.Baseline)
	if !ok || base.Err != nil {
		// A baseline that failed shows no figures; no ratio rests on
		// the runs it made before failing.
		return Summary{}, false
	}
	r, ok := g.Row(peer)
	if !ok {
		return Summary{}, false
	}
	n := min(len(base.Samples), len(r.Samples))
	vs := make([]float64, 0, n)
	for i := 0; i < n; i++ {
		b, v := m.Value(base.Samples[i]), m.Value(r.Samples[i])
		if b <= 0 || v <= 0 {
			continue
		}
		if m.HigherIsBetter() {
			vs = append(vs, v/b)
		} else {
			vs = append(vs, b/v)
		}
	}
	if len(vs) == 0 {
		return Summary{}, false
	}
	return summarize(vs), true
}
