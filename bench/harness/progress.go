package harness

import (
	"fmt"
	"io"
	"time"
)

// progress writes the harness's progress line: what runs, the share of
// runs done, the time spent and an estimate of the time left: the mean
// duration of the runs so far times the number of runs left.
type progress struct {
	w        io.Writer
	terminal bool
	total    int
	finished int
	start    time.Time
	spent    time.Duration
}

func newProgress(w io.Writer, terminal bool, total int) *progress {
	return &progress{w: w, terminal: terminal, total: total, start: time.Now()}
}

// show announces the run about to start.
func (p *progress) show(what string) {
	if p.w == nil {
		return
	}
	pct := 0
	if p.total > 0 {
		pct = 100 * p.finished / p.total
	}
	line := fmt.Sprintf("[%3d%%] %s · %s elapsed", pct, what, round(time.Since(p.start)))
	if left, ok := p.left(); ok {
		line += fmt.Sprintf(" · ~%s left", round(left))
	}
	if p.terminal {
		fmt.Fprintf(p.w, "\r%s\x1b[K", line)
	} else {
		fmt.Fprintln(p.w, line)
	}
}

// done records that a run took d.
func (p *progress) done(d time.Duration) {
	p.finished++
	p.spent += d
}

// skip records n runs that will not happen.
func (p *progress) skip(n int) { p.total -= n }

// left estimates the time the remaining runs take; false before any run.
func (p *progress) left() (time.Duration, bool) {
	if p.finished == 0 {
		return 0, false
	}
	mean := p.spent / time.Duration(p.finished)
	return mean * time.Duration(p.total-p.finished), true
}

// finish ends the progress line.
func (p *progress) finish() {
	if p.w == nil {
		return
	}
	msg := fmt.Sprintf("[100%%] %d runs in %s", p.finished, round(time.Since(p.start)))
	if p.finished < p.total {
		msg = fmt.Sprintf("[stopped] %d of %d runs in %s", p.finished, p.total, round(time.Since(p.start)))
	}
	if p.terminal {
		fmt.Fprintf(p.w, "\r%s\x1b[K\n", msg)
	} else {
		fmt.Fprintln(p.w, msg)
	}
}

func round(d time.Duration) time.Duration {
	if d > time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(100 * time.Millisecond)
}
