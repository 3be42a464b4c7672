package harness

import (
	"context"
	"fmt"
	"io"
	"time"
)

// Options controls Run.
type Options struct {
	// Runs is the number of runs of every case; figures are medians over
	// them. Less than 1 means 1.
	Runs int
	// Progress, if not nil, receives a progress line: what runs, how far
	// the whole harness is, and how long is left.
	Progress io.Writer
	// Terminal makes the progress line rewrite itself in place (carriage
	// return) instead of printing one line per step.
	Terminal bool
}

// A Result is what the runs of one case gave.
type Result struct {
	Peer    string
	Series  string   // the case's Series (sections with Curves)
	Point   string   // the case's Point (sections with Curves)
	Skip    string   // the case's Skip, if it was skipped
	Err     error    // the error that stopped its runs, if any
	Samples []Sample // one per completed run, in run order
}

// A GroupResult is the results of a group's cases, in the group's order.
type GroupResult struct {
	Setting  string
	Baseline string
	Err      error // Setup's error, if it failed (then Rows are all skipped)
	Rows     []Result
}

// A SectionResult is the results of a section.
type SectionResult struct {
	Name    string
	About   string
	Metrics []Metric
	Curves  *Curves // the section's Curves
	Groups  []GroupResult
}

// Run runs every case of every section, opt.Runs times each, and returns
// the results in the order of the sections. A case whose run fails keeps its
// error and is not run again; the others go on. When ctx is done Run stops
// at once and returns what it has with ctx's error.
func Run(ctx context.Context, sections []Section, opt Options) ([]SectionResult, error) {
	runs := opt.Runs
	if runs < 1 {
		runs = 1
	}
	p := newProgress(opt.Progress, opt.Terminal, countRuns(sections, runs))
	defer p.finish()
	out := make([]SectionResult, 0, len(sections))
	for _, s := range sections {
		sr := SectionResult{Name: s.Name, About: s.About, Metrics: s.Metrics, Curves: s.Curves}
		for _, g := range s.Groups {
			gr, err := runGroup(ctx, s.Name, g, runs, p)
			sr.Groups = append(sr.Groups, gr)
			if err != nil {
				out = append(out, sr)
				return out, err
			}
		}
		out = append(out, sr)
	}
	return out, nil
}

// countRuns returns the number of runs Run will do.
func countRuns(sections []Section, runs int) int {
	n := 0
	for _, s := range sections {
		for _, g := range s.Groups {
			for _, c := range g.Cases {
				if c.Skip == "" {
					n += caseRuns(c, runs)
				}
			}
		}
	}
	return n
}

// caseRuns returns the number of runs of c when the others make runs.
func caseRuns(c Case, runs int) int {
	if c.MaxRuns > 0 {
		return min(c.MaxRuns, runs)
	}
	return runs
}

// runGroup runs a group's cases interleaved: run 1 of every case, then run
// 2 of every case, and so on; a case with MaxRuns drops out after its last.
func runGroup(ctx context.Context, section string, g Group, runs int, p *progress) (GroupResult, error) {
	gr := GroupResult{Setting: g.Setting, Baseline: g.Baseline, Rows: make([]Result, len(g.Cases))}
	for i, c := range g.Cases {
		gr.Rows[i] = Result{Peer: c.Peer, Series: c.Series, Point: c.Point, Skip: c.Skip}
	}
	if g.Teardown != nil {
		defer g.Teardown()
	}
	if g.Setup != nil {
		if err := g.Setup(ctx); err != nil {
			if ctx.Err() != nil {
				return gr, ctx.Err()
			}
			gr.Err = err
			for i := range gr.Rows {
				if gr.Rows[i].Skip == "" {
					gr.Rows[i].Skip = "setup failed: " + err.Error()
					p.skip(caseRuns(g.Cases[i], runs))
				}
			}
			return gr, ctx.Err()
		}
	}
	for run := 1; run <= runs; run++ {
		for i, c := range g.Cases {
			r := &gr.Rows[i]
			n := caseRuns(c, runs)
			if r.Skip != "" || run > n {
				continue
			}
			if r.Err != nil {
				p.skip(1)
				continue
			}
			if err := ctx.Err(); err != nil {
				return gr, err
			}
			p.show(fmt.Sprintf("%s · %s · %s · run %d/%d", section, g.Setting, c.Peer, run, n))
			start := time.Now()
			s, err := c.Run(ctx)
			p.done(time.Since(start))
			if err != nil {
				if ctx.Err() != nil {
					return gr, ctx.Err()
				}
				r.Err = err
				continue
			}
			r.Samples = append(r.Samples, s)
		}
	}
	return gr, nil
}
