package harness

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// The geometry of a curve panel, in SVG user units.
const (
	curvePlotH   = 320 // height of the plot area
	curveAxisW   = 64  // room for the MB/s ticks and title, left of the plot
	curveAxisH   = 44  // room for the ratio ticks and title, under the plot
	curveLegendW = 230 // room for the series' legend, right of the plot
	curveLegendH = 18  // height of one legend row
)

// A curveMark is one point of a curve in the chart: a case's medians.
type curveMark struct {
	peer         string // the case's Peer
	point        string
	ratio        float64 // median size ratio
	mbps, lo, hi float64 // median, minimum and maximum MB/s
	cpu          float64 // median CPU s/GiB
	runs         int
}

// A curveLine is a series' points in one group, in the group's order.
type curveLine struct {
	series string
	marks  []curveMark
}

// curveLines returns the lines of a curve panel, and the series in order of
// first appearance with whether any of their cases has figures.
func curveLines(p SectionResult) (lines []curveLine, series []string, drawn map[string]bool) {
	drawn = map[string]bool{}
	for _, g := range p.Groups {
		var group []curveLine
		index := map[string]int{}
		for _, r := range g.Rows {
			if r.Series == "" {
				continue
			}
			if _, seen := drawn[r.Series]; !seen {
				drawn[r.Series] = false
				series = append(series, r.Series)
			}
			if r.Skip != "" || r.Err != nil || len(r.Samples) == 0 {
				continue
			}
			mb, ratio := r.Summary(Throughput), r.Summary(SizeRatio)
			if mb.Median <= 0 || ratio.Median <= 0 {
				continue
			}
			i, ok := index[r.Series]
			if !ok {
				i = len(group)
				index[r.Series] = i
				group = append(group, curveLine{series: r.Series})
			}
			group[i].marks = append(group[i].marks, curveMark{
				peer: r.Peer, point: r.Point, ratio: ratio.Median, mbps: mb.Median, lo: mb.Min, hi: mb.Max,
				cpu: r.Summary(CPUPerGiB).Median, runs: mb.N,
			})
			drawn[r.Series] = true
		}
		lines = append(lines, group...)
	}
	return lines, series, drawn
}

// curvePanelHeight returns the height of a section's curve panel.
func curvePanelHeight(p SectionResult) int {
	_, series, _ := curveLines(p)
	return svgPanelHead + max(curvePlotH, len(series)*curveLegendH) + curveAxisH
}

// writeCurvePanel draws a section's curves with the panel's top at y:
// MB/s on a log scale (y) against the size ratio (x), a line per series
// through its points, a whisker per point from its slowest to its fastest
// run, and the series' legend on the right.
func writeCurvePanel(w io.Writer, p SectionResult, colours colourMap, y int) {
	lines, series, drawn := curveLines(p)
	var settings []string
	for _, g := range p.Groups {
		settings = append(settings, g.Setting)
	}
	fmt.Fprintf(w, `<text x="%d" y="%d" font-size="15" font-weight="bold">%s</text>`+"\n",
		svgMargin, y+16, xmlText(p.Name+" (MB/s against size ratio)"))
	fmt.Fprintf(w, `<text x="%d" y="%d" fill="#444444">%s</text>`+"\n",
		svgMargin, y+32, xmlText(fitText(strings.Join(settings, "; "), svgWidth-2*svgMargin)))

	x0, x1 := svgMargin+curveAxisW, svgWidth-svgMargin-curveLegendW
	y0 := y + svgPanelHead
	y1 := y0 + max(curvePlotH, len(series)*curveLegendH)
	var marks []curveMark
	for _, l := range lines {
		marks = append(marks, l.marks...)
	}
	if len(marks) == 0 {
		fmt.Fprintf(w, `<text x="%d" y="%d">%s</text>`+"\n", x0, y0+20, xmlText("No figures."))
		writeCurveLegend(w, series, drawn, colours, x1+16, y0)
		return
	}

	rLo, rHi, rStep := ratioAxis(marks)
	mLo, mHi := logAxis(marks)
	sx := func(r float64) float64 { return float64(x0) + (r-rLo)/(rHi-rLo)*float64(x1-x0) }
	sy := func(v float64) float64 {
		return float64(y1) - (math.Log10(v)-math.Log10(mLo))/(math.Log10(mHi)-math.Log10(mLo))*float64(y1-y0)
	}

	// Grid, ticks and axis titles.
	for i := 0; i <= int(math.Round((rHi-rLo)/rStep)); i++ {
		r := rLo + float64(i)*rStep
		x := sx(r)
		fmt.Fprintf(w, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#dddddd" stroke-width="1"/>`+"\n", x, y0, x, y1)
		fmt.Fprintf(w, `<text x="%.1f" y="%d" text-anchor="middle" fill="#666666" font-size="10">%s</text>`+"\n",
			x, y1+14, xmlText(tickLabel(math.Round(r*1e6)/1e6)))
	}
	for _, t := range logTicks(mLo, mHi) {
		yy := sy(t)
		fmt.Fprintf(w, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#dddddd" stroke-width="1"/>`+"\n", x0, yy, x1, yy)
		fmt.Fprintf(w, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle" fill="#666666" font-size="10">%s</text>`+"\n",
			x0-6, yy, xmlText(tickLabel(t)))
	}
	fmt.Fprintf(w, `<path d="M%d %dV%dH%d" stroke="#333333" stroke-width="1" fill="none"/>`+"\n", x0, y0, y1, x1)
	fmt.Fprintf(w, `<text x="%d" y="%d" text-anchor="middle" fill="#444444">%s</text>`+"\n",
		(x0+x1)/2, y1+34, xmlText("size ratio (uncompressed / compressed), higher is smaller output"))
	fmt.Fprintf(w, `<text x="%d" y="%d" text-anchor="middle" fill="#444444" transform="rotate(-90 %d %d)">%s</text>`+"\n",
		svgMargin+8, (y0+y1)/2, svgMargin+8, (y0+y1)/2, xmlText("MB/s (log scale)"))

	// The lines, then their points on top.
	for _, l := range lines {
		colour := colours.of[l.series]
		var d strings.Builder
		for i, m := range l.marks {
			cmd := "L"
			if i == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&d, "%s%.1f %.1f", cmd, sx(m.ratio), sy(m.mbps))
		}
		fmt.Fprintf(w, `<path class="curve" d="%s" stroke="%s" stroke-width="1.5" fill="none"/>`+"\n", d.String(), colour)
	}
	for _, l := range lines {
		colour := colours.of[l.series]
		for i, m := range l.marks {
			x, yy := sx(m.ratio), sy(m.mbps)
			if m.hi > m.lo {
				fmt.Fprintf(w, `<path d="M%.1f %.1fV%.1f" stroke="%s" stroke-width="1" fill="none"/>`+"\n", x, sy(m.lo), sy(m.hi), colour)
			}
			tip := fmt.Sprintf("%s: %s MB/s (%s–%s), size ratio %s, %s CPU s/GiB, %d runs", m.peer,
				formatFloat(m.mbps, decimals(m.mbps)), formatFloat(m.lo, decimals(m.mbps)), formatFloat(m.hi, decimals(m.mbps)),
				formatFloat(m.ratio, 2), formatFloat(m.cpu, decimals(m.cpu)), m.runs)
			fmt.Fprintf(w, `<circle class="point" cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s</title></circle>`+"\n", x, yy, colour, xmlText(tip))
			if (i == 0 || i == len(l.marks)-1) && m.point != "" {
				fmt.Fprintf(w, `<text x="%.1f" y="%.1f" font-size="9" fill="%s">%s</text>`+"\n", x+4, yy-4, colour, xmlText(m.point))
			}
		}
	}
	writeCurveLegend(w, series, drawn, colours, x1+16, y0)
}

// writeCurveLegend writes the series' legend in a column at x from y; a
// series with no figures is greyed and says so.
func writeCurveLegend(w io.Writer, series []string, drawn map[string]bool, colours colourMap, x, y int) {
	for i, s := range series {
		yy := y + i*curveLegendH + 12
		label := fitText(s, curveLegendW-40)
		if !drawn[s] {
			fmt.Fprintf(w, `<text x="%d" y="%d" fill="#888888" font-style="italic">%s<title>%s</title></text>`+"\n",
				x+22, yy, xmlText(fitText(s+": no figures", curveLegendW-40)), xmlText(s+": skipped or failed (see the table)"))
			continue
		}
		fmt.Fprintf(w, `<path d="M%d %dH%d" stroke="%s" stroke-width="1.5"/><circle cx="%d" cy="%d" r="3" fill="%s"/>`+"\n",
			x, yy-4, x+16, colours.of[s], x+8, yy-4, colours.of[s])
		fmt.Fprintf(w, `<text x="%d" y="%d">%s<title>%s</title></text>`+"\n", x+22, yy, xmlText(label), xmlText(s))
	}
}

// ratioAxis returns the size ratio axis for marks: its ends and its tick
// step, a round step that gives about six ticks.
func ratioAxis(marks []curveMark) (lo, hi, step float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, m := range marks {
		lo, hi = math.Min(lo, m.ratio), math.Max(hi, m.ratio)
	}
	span := hi - lo
	if span <= 0 {
		span = math.Max(hi*0.1, 1e-3)
	}
	step = niceCeil(span / 6)
	lo = math.Floor(lo/step) * step
	hi = math.Ceil(hi/step) * step
	if hi <= lo {
		hi = lo + step
	}
	return lo, hi, step
}

// logAxis returns the ends of the MB/s axis for marks: the powers of ten
// around their whiskers.
func logAxis(marks []curveMark) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, m := range marks {
		lo, hi = math.Min(lo, math.Min(m.lo, m.mbps)), math.Max(hi, math.Max(m.hi, m.mbps))
	}
	if lo <= 0 {
		lo = hi / 1000
	}
	lo = math.Pow(10, math.Floor(math.Log10(lo)))
	hi = math.Pow(10, math.Ceil(math.Log10(hi)))
	if hi <= lo {
		hi = lo * 10
	}
	return lo, hi
}

// logTicks returns 1, 2 and 5 times each power of ten from lo to hi.
func logTicks(lo, hi float64) []float64 {
	var out []float64
	for p := lo; p <= hi*(1+1e-9); p *= 10 {
		for _, f := range []float64{1, 2, 5} {
			if t := p * f; t <= hi*(1+1e-9) {
				out = append(out, t)
			}
		}
	}
	return out
}
