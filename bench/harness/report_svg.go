package harness

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// The chart's geometry, in SVG user units (pixels).
const (
	svgWidth     = 960
	svgMargin    = 16
	svgLabelMin  = 90  // least room for the settings, left of the bars
	svgLabelMax  = 280 // most room for them; longer settings are cut
	svgValueW    = 110 // room for the value printed right of the longest bar
	svgBarH      = 14
	svgBarGap    = 3
	svgGroupGap  = 12
	svgTitleH    = 48
	svgLegendRow = 20
	svgPanelHead = 44 // panel title and axis labels above the bars
	svgPanelGap  = 24
)

// svgPalette holds the peers' colours, assigned in order of appearance;
// peers beyond it get colours spread around the hue circle (peerColour).
var svgPalette = []string{
	"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
	"#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
	"#393b79", "#ad494a", "#637939", "#e7969c", "#6b6ecf",
	"#8c6d31", "#9edae5", "#ce6dbd", "#31a354", "#fdae6b",
}

// peerColour returns the colour of the i-th peer of the chart.
func peerColour(i int) string {
	if i < len(svgPalette) {
		return svgPalette[i]
	}
	// Golden-angle steps around the hue circle keep neighbours apart.
	h := math.Mod(float64(i)*137.508, 360)
	return hslHex(h, 0.55, 0.45)
}

// hslHex converts a colour from HSL (hue in degrees, saturation and
// lightness in [0,1]) to #rrggbb.
func hslHex(h, s, l float64) string {
	c := (1 - math.Abs(2*l-1)) * s
	x := c * (1 - math.Abs(math.Mod(h/60, 2)-1))
	m := l - c/2
	var r, g, b float64
	switch {
	case h < 60:
		r, g, b = c, x, 0
	case h < 120:
		r, g, b = x, c, 0
	case h < 180:
		r, g, b = 0, c, x
	case h < 240:
		r, g, b = 0, x, c
	case h < 300:
		r, g, b = x, 0, c
	default:
		r, g, b = c, 0, x
	}
	to := func(v float64) int { return int(math.Round((v + m) * 255)) }
	return fmt.Sprintf("#%02x%02x%02x", to(r), to(g), to(b))
}

// WriteSVG writes a self-contained SVG chart of the throughput of results:
// one panel per section whose first metric is Throughput, with a group of
// horizontal bars per setting and a bar per peer (the median, with a whisker
// from the minimum to the maximum run), each peer in the same colour
// throughout the chart; and one panel per section with Curves, its
// throughput (log scale) against its size ratio, a line per series through
// its points (medians, with whiskers from the minimum to the maximum MB/s).
func WriteSVG(w io.Writer, info SysInfo, results []SectionResult) error {
	var panels []SectionResult
	for _, sr := range results {
		curves := sr.Curves != nil
		bars := len(sr.Metrics) > 0 && sr.Metrics[0] == Throughput
		if (curves || bars) && len(sr.Groups) > 0 {
			panels = append(panels, sr)
		}
		if !curves && slices.Contains(sr.Metrics, CPUPerGiB) && len(sr.Groups) > 0 {
			// A second panel of the section: its CPU per GiB.
			cpu := sr
			cpu.Metrics = []Metric{CPUPerGiB}
			panels = append(panels, cpu)
		}
	}
	colours := peerColours(panels)
	legendRows := legendLayout(colours.order)

	height := svgMargin + svgTitleH + len(legendRows)*svgLegendRow + svgMargin
	for _, p := range panels {
		height += anyPanelHeight(p) + svgPanelGap
	}
	if len(panels) == 0 {
		height += 40
	}

	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		svgWidth, height, svgWidth, height)
	fmt.Fprintf(bw, `<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>`+"\n", svgWidth, height)
	y := svgMargin + 18
	fmt.Fprintf(bw, `<text x="%d" y="%d" font-size="18" font-weight="bold">%s</text>`+"\n",
		svgMargin, y, xmlText("kpipe: MB/s, and CPU s/GiB (lower is better); medians, whiskers min–max"))
	y += 20
	fmt.Fprintf(bw, `<text x="%d" y="%d" fill="#444444">%s</text>`+"\n", svgMargin, y, xmlText(chartSubtitle(info)))
	y += svgTitleH - 38
	for _, row := range legendRows {
		y += svgLegendRow
		for _, item := range row {
			fmt.Fprintf(bw, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/>`+"\n", item.x, y-11, colours.of[item.peer])
			fmt.Fprintf(bw, `<text x="%d" y="%d">%s</text>`+"\n", item.x+16, y, xmlText(item.peer))
		}
	}
	y += svgMargin
	if len(panels) == 0 {
		fmt.Fprintf(bw, `<text x="%d" y="%d">%s</text>`+"\n", svgMargin, y+20, xmlText("No throughput figures."))
	}
	labelW := labelWidth(panels)
	for _, p := range panels {
		if p.Curves != nil {
			writeCurvePanel(bw, p, colours, y)
		} else {
			writePanel(bw, p, colours, labelW, y)
		}
		y += anyPanelHeight(p) + svgPanelGap
	}
	fmt.Fprintln(bw, "</svg>")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write svg chart: %w", err)
	}
	return nil
}

// chartSubtitle names the machine and software the figures come from.
func chartSubtitle(info SysInfo) string {
	parts := []string{info.Machine(), "Linux " + info.Kernel, info.Go}
	if !info.Date.IsZero() {
		parts = append(parts, info.Date.UTC().Format("2006-01-02"))
	}
	return strings.Join(parts, " · ")
}

// colourMap gives every peer and series of the chart its colour.
type colourMap struct {
	order []string          // the bar panels' peers in order of first appearance, for the legend
	of    map[string]string // peer or series -> colour
}

// peerColours assigns the palette's colours to the peers of the bar panels
// and the series of the curve panels, in order of first appearance; a
// series and a peer of the same name share a colour.
func peerColours(panels []SectionResult) colourMap {
	cm := colourMap{of: map[string]string{}}
	add := func(name string) {
		if _, seen := cm.of[name]; !seen {
			cm.of[name] = peerColour(len(cm.of))
		}
	}
	legend := map[string]bool{}
	for _, p := range panels {
		for _, g := range p.Groups {
			for _, r := range g.Rows {
				if p.Curves != nil {
					if r.Series != "" {
						add(r.Series)
					}
					continue
				}
				add(r.Peer)
				if !legend[r.Peer] {
					legend[r.Peer] = true
					cm.order = append(cm.order, r.Peer)
				}
			}
		}
	}
	return cm
}

// A legendItem is one peer's swatch in the legend.
type legendItem struct {
	peer string
	x    int
}

// legendLayout places the legend's swatches in rows that fit the width.
func legendLayout(peers []string) [][]legendItem {
	var rows [][]legendItem
	var row []legendItem
	x := svgMargin
	for _, p := range peers {
		w := 16 + textWidth(p) + 20
		if len(row) > 0 && x+w > svgWidth-svgMargin {
			rows = append(rows, row)
			row, x = nil, svgMargin
		}
		row = append(row, legendItem{p, x})
		x += w
	}
	if len(row) > 0 {
		rows = append(rows, row)
	}
	return rows
}

// textWidth estimates the width of s in the 12-unit sans-serif font.
func textWidth(s string) int { return len([]rune(s)) * 7 }

// labelWidth returns the room the settings' labels take left of the bars.
func labelWidth(panels []SectionResult) int {
	w := svgLabelMin
	for _, p := range panels {
		if p.Curves != nil {
			continue
		}
		for _, g := range p.Groups {
			w = max(w, textWidth(g.Setting)+8)
		}
	}
	return min(w, svgLabelMax)
}

// fitText cuts s to fit in width units, with an ellipsis if cut.
func fitText(s string, width int) string {
	if textWidth(s) <= width {
		return s
	}
	return cutRunes(s, max(width/7, 2))
}

// anyPanelHeight returns the height of a section's panel, of bars or of
// curves.
func anyPanelHeight(p SectionResult) int {
	if p.Curves != nil {
		return curvePanelHeight(p)
	}
	return panelHeight(p)
}

// panelHeight returns the height of a section's panel of bars.
func panelHeight(p SectionResult) int {
	h := svgPanelHead
	for _, g := range p.Groups {
		h += len(g.Rows)*(svgBarH+svgBarGap) - svgBarGap + svgGroupGap
	}
	return h
}

// writePanel draws one section's panel with its top at y.
func writePanel(w io.Writer, p SectionResult, colours colourMap, labelW, y int) {
	x0 := svgMargin + labelW
	plotW := svgWidth - svgMargin - svgValueW - x0
	m := p.Metrics[0]
	top := niceCeil(panelMax(p, m))
	scale := func(v float64) float64 { return float64(x0) + v/top*float64(plotW) }

	fmt.Fprintf(w, `<text x="%d" y="%d" font-size="15" font-weight="bold">%s</text>`+"\n",
		svgMargin, y+16, xmlText(p.Name+" ("+m.Unit()+")"))
	barsTop := y + svgPanelHead
	barsBottom := y + panelHeight(p) - svgGroupGap
	for _, t := range ticks(top) {
		x := scale(t)
		fmt.Fprintf(w, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#dddddd" stroke-width="1"/>`+"\n", x, barsTop-4, x, barsBottom)
		fmt.Fprintf(w, `<text x="%.1f" y="%d" text-anchor="middle" fill="#666666" font-size="10">%s</text>`+"\n",
			x, barsTop-8, xmlText(tickLabel(t)))
	}
	by := barsTop
	for _, g := range p.Groups {
		groupH := len(g.Rows)*(svgBarH+svgBarGap) - svgBarGap
		fmt.Fprintf(w, `<text x="%d" y="%d" text-anchor="end" dominant-baseline="middle">%s<title>%s</title></text>`+"\n",
			x0-8, by+groupH/2, xmlText(fitText(g.Setting, labelW-8)), xmlText(g.Setting))
		for _, r := range g.Rows {
			writeBar(w, g, r, m, colours.of[r.Peer], x0, by, scale)
			by += svgBarH + svgBarGap
		}
		by += svgGroupGap - svgBarGap
	}
	fmt.Fprintf(w, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333333" stroke-width="1"/>`+"\n", x0, barsTop-4, x0, barsBottom)
}

// writeBar draws one peer's bar, whisker and value, or says why there is
// none.
func writeBar(w io.Writer, g GroupResult, r Result, m Metric, colour string, x0, y int, scale func(float64) float64) {
	mid := float64(y) + svgBarH/2
	s := r.Summary(m)
	switch {
	case r.Skip != "" || r.Err != nil || s.N == 0:
		why := "not run"
		if r.Skip != "" {
			why = "skipped: " + shorten(r.Skip, 200)
		} else if r.Err != nil {
			why = "failed: " + shorten(r.Err.Error(), 200)
		}
		label, _, _ := strings.Cut(why, ":")
		fmt.Fprintf(w, `<text x="%d" y="%.1f" dominant-baseline="middle" fill="#888888" font-style="italic">%s<title>%s</title></text>`+"\n",
			x0+4, mid, xmlText(r.Peer+": "+label), xmlText(r.Peer+": "+why))
		return
	}
	end := scale(s.Median)
	tip := fmt.Sprintf("%s, %s: %s %s (%s–%s), %d runs", r.Peer, g.Setting,
		formatFloat(s.Median, decimals(s.Median)), m.Unit(), formatFloat(s.Min, decimals(s.Median)), formatFloat(s.Max, decimals(s.Median)), s.N)
	if ratio, ok := g.Ratio(r.Peer, m); ok && r.Peer != g.Baseline {
		tip += fmt.Sprintf(", %.2f× vs %s", ratio.Median, g.Baseline)
	}
	fmt.Fprintf(w, `<rect class="bar" x="%d" y="%d" width="%.1f" height="%d" fill="%s"><title>%s</title></rect>`+"\n",
		x0, y, math.Max(end-float64(x0), 0.5), svgBarH, colour, xmlText(tip))
	lo, hi := scale(s.Min), scale(s.Max)
	if hi > lo {
		fmt.Fprintf(w, `<path d="M%.1f %.1fH%.1fM%.1f %.1fV%.1fM%.1f %.1fV%.1f" stroke="#222222" stroke-width="1" fill="none"/>`+"\n",
			lo, mid, hi, lo, mid-3, mid+3, hi, mid-3, mid+3)
	}
	fmt.Fprintf(w, `<text x="%.1f" y="%.1f" dominant-baseline="middle" font-size="11">%s</text>`+"\n",
		math.Max(end, hi)+4, mid, xmlText(formatFloat(s.Median, decimals(s.Median))))
}

// panelMax returns the largest value of metric (the top of a whisker) of a
// panel, at least a small positive number.
func panelMax(p SectionResult, metric Metric) float64 {
	m := 0.0
	for _, g := range p.Groups {
		for _, r := range g.Rows {
			if s := r.Summary(metric); s.N > 0 {
				m = math.Max(m, s.Max)
			}
		}
	}
	if m <= 0 || math.IsInf(m, 0) || math.IsNaN(m) {
		return 1
	}
	return m
}

// niceCeil returns the smallest of 1, 2, 2.5, 5 or 10 times a power of ten
// that is at least v.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, f := range []float64{1, 2, 2.5, 5, 10} {
		if f*p >= v*(1-1e-9) {
			return f * p
		}
	}
	return 10 * p
}

// ticks returns the axis's tick values: 0 to top in five steps.
func ticks(top float64) []float64 {
	out := make([]float64, 0, 6)
	for i := 0; i <= 5; i++ {
		out = append(out, top*float64(i)/5)
	}
	return out
}

// tickLabel formats an axis tick without trailing zeros.
func tickLabel(t float64) string {
	s := formatFloat(t, decimals(t))
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// xmlText escapes s for an XML text node or attribute value.
func xmlText(s string) string {
	var b strings.Builder
	if err := xml.EscapeText(&b, []byte(s)); err != nil {
		return ""
	}
	return b.String()
}
