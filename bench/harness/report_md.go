package harness

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// WriteMarkdown writes the report of results as Markdown: a header naming
// the machine and the software measured, then one table per section with
// every figure as "median (min–max)" over the runs, the ratio of the first
// metric to the group's baseline (computed run by run, see
// GroupResult.Ratio), and the number of runs behind each row. Skipped cases
// show why; failed cases show their error.
func WriteMarkdown(w io.Writer, info SysInfo, cfg Config, runs int, results []SectionResult) error {
	bw := bufio.NewWriter(w)
	writeMarkdownHeader(bw, info, cfg, runs)
	for _, sr := range results {
		writeMarkdownSection(bw, sr, runs)
	}
	if len(results) == 0 {
		fmt.Fprintln(bw, "No section ran.")
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write markdown report: %w", err)
	}
	return nil
}

// writeMarkdownHeader writes the title and the list of facts about the run.
func writeMarkdownHeader(w io.Writer, info SysInfo, cfg Config, runs int) {
	fmt.Fprintln(w, "# kpipe benchmarks")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "- Machine: %s\n", mdText(info.Machine()))
	fmt.Fprintf(w, "- OS: %s, Linux %s\n", mdText(info.OS), mdText(info.Kernel))
	fmt.Fprintf(w, "- Go: %s; liburing: %s; zlib: %s; compression engine: %s\n", mdText(info.Go), mdText(info.Liburing), mdText(info.Zlib), mdText(info.ZEngine))
	fmt.Fprintf(w, "- kpipe default backend: %s (io_uring usable: %s)\n", mdText(info.Backend), yesNo(info.IOUring))
	quick := "no"
	if cfg.Quick {
		quick = "yes (small sizes, a smoke test: figures are not representative)"
	}
	fmt.Fprintf(w, "- Runs per figure: %d; quick: %s\n", runs, quick)
	if !info.Date.IsZero() {
		fmt.Fprintf(w, "- Date: %s\n", info.Date.UTC().Format("2006-01-02 15:04 MST"))
	}
	fmt.Fprintln(w)
}

// writeMarkdownSection writes one section: its title, its paragraph and its
// table, and for a section with Curves its equal-ratio tables.
func writeMarkdownSection(w io.Writer, sr SectionResult, runs int) {
	fmt.Fprintf(w, "## %s\n\n", mdText(sr.Name))
	if about := strings.TrimSpace(sr.About); about != "" {
		fmt.Fprintf(w, "%s\n\n", about)
	}
	if len(sr.Groups) == 0 {
		fmt.Fprintln(w, "Nothing ran.")
		fmt.Fprintln(w)
		return
	}
	head := []string{"Setting", "Peer"}
	for _, m := range sr.Metrics {
		head = append(head, m.Unit())
	}
	ratio := len(sr.Metrics) > 0 && hasBaseline(sr)
	ratioHead, markBaseline := ratioHeader(sr)
	if ratio {
		head = append(head, ratioHead)
	}
	head = append(head, "Runs")
	var rows [][]string
	for _, g := range sr.Groups {
		for i, r := range g.Rows {
			setting := ""
			if i == 0 {
				setting = g.Setting
			}
			rows = append(rows, markdownRow(sr.Metrics, g, r, setting, ratio, markBaseline))
		}
	}
	writeTable(w, head, 2, rows)
	fmt.Fprintln(w)
	fmt.Fprint(w, runsNote(sr, runs, ratio))
	if sr.Curves != nil {
		for _, er := range sr.Curves.EqualRatio {
			writeEqualRatio(w, sr, er)
		}
		for _, series := range sr.Curves.AgainstBaseline {
			writeAgainstBaseline(w, sr, series)
		}
	}
}

// writeTable writes a Markdown table: the heading row, the alignment row
// (the first left columns aligned left, the figures' columns right) and
// the rows.
func writeTable(w io.Writer, head []string, left int, rows [][]string) {
	writeRow(w, head)
	align := make([]string, len(head))
	for i := range align {
		align[i] = "---:"
		if i < left {
			align[i] = "---"
		}
	}
	writeRow(w, align)
	for _, r := range rows {
		writeRow(w, r)
	}
}

// runsNote returns the paragraph under a section's table that says what
// its figures are; ratio says that the table has a ratio column.
func runsNote(sr SectionResult, runs int, ratio bool) string {
	var b strings.Builder
	if runs == 1 {
		b.WriteString("Figures are from a single run")
		if ratio {
			b.WriteString("; ratios are computed run by run (against the baseline's run beside it)")
		}
		b.WriteString(".\n\n")
		return b.String()
	}
	fmt.Fprintf(&b, "Figures are medians of %d runs, with the minimum and maximum in parentheses", runs)
	if capped(sr, runs) {
		b.WriteString(" (of fewer runs where the Runs column says so: slow cases run fewer times)")
	}
	if ratio {
		b.WriteString("; ratios are computed run by run (each run against the baseline's run beside it), then their median taken")
	}
	b.WriteString(".\n\n")
	return b.String()
}

// capped reports whether a case of sr that did not fail ran fewer than
// runs times.
func capped(sr SectionResult, runs int) bool {
	for _, g := range sr.Groups {
		for _, r := range g.Rows {
			if r.Skip == "" && r.Err == nil && len(r.Samples) > 0 && len(r.Samples) < runs {
				return true
			}
		}
	}
	return false
}

// hasBaseline reports whether a group of sr has a baseline, which its table
// gives a ratio column.
func hasBaseline(sr SectionResult) bool {
	for _, g := range sr.Groups {
		if g.Baseline != "" {
			return true
		}
	}
	return false
}

// writeEqualRatio writes the table that sets every point of er.Series
// against the curve of er.Against at equal size ratio (see equalRatioRows),
// and the counts of points at least as fast and of points that use less
// CPU.
func writeEqualRatio(w io.Writer, sr SectionResult, er EqualRatio) {
	point := curvesPoint(sr)
	speed, cost := sr.Curves.speedCost()
	fmt.Fprintf(w, "### %s against %s at equal ratio\n\n", mdText(er.Series), mdText(er.Against))
	head := []string{"Setting", point, er.Series + " " + speed.Unit(), cost.Unit(), "size ratio",
		er.Against + " " + speed.Unit() + " at that ratio", cost.Unit(), "× vs " + er.Against, "× less CPU", "Runs"}
	var rows [][]string
	met, measured, thrifty, costed := 0, 0, 0, 0
	for _, g := range sr.Groups {
		setting := g.Setting
		for _, r := range equalRatioRows(g, er, speed, cost) {
			rows = append(rows, equalRatioCells(r, setting, er.Against))
			setting = ""
			if r.Runs > 0 {
				measured++
				if r.Met() {
					met++
				}
			}
			if r.CostX.N > 0 {
				costed++
				if r.CostX.Median > 1 {
					thrifty++
				}
			}
		}
	}
	if len(rows) == 0 {
		fmt.Fprintf(w, "%s did not run.\n\n", mdText(er.Series))
		return
	}
	writeTable(w, head, 2, rows)
	fmt.Fprintln(w)
	word := strings.ToLower(point) + "s"
	fmt.Fprintf(w, "%s is at least as fast as %s at equal size ratio at %d of %d %s (a ratio beyond %s's best counts as met)",
		mdText(er.Series), mdText(er.Against), met, measured, word, mdText(er.Against))
	if costed > 0 {
		fmt.Fprintf(w, ", and uses less CPU at %d of the %d where both CPU figures exist", thrifty, costed)
	}
	fmt.Fprintf(w, ". %s's %s and %s at a ratio are interpolated linearly between its two points whose ratios enclose it; "+
		"below its lowest ratio, its point of lowest ratio stands. Each run of a point is set against the curve of the same run, "+
		"the speed and CPU ratios taken run by run, then the medians.\n\n",
		mdText(er.Against), speed.Unit(), cost.Unit())
}

// curvesPoint returns the heading of the column of a sweep's points.
func curvesPoint(sr SectionResult) string {
	if sr.Curves != nil && sr.Curves.Point != "" {
		return sr.Curves.Point
	}
	return "Point"
}

// equalRatioCells returns the cells of one row of an equal-ratio table.
func equalRatioCells(r equalRatioRow, setting, against string) []string {
	row := []string{setting, r.Point}
	if r.Runs == 0 {
		why := r.Why
		if why == "" {
			why = "not run"
		}
		return append(row, shorten(why, 160), "—", "—", "—", "—", "—", "—", "0")
	}
	row = append(row, formatSummary(r.Speed), formatSummary(r.Cost), formatSummary(r.Ratio))
	if r.SpeedX.N == 0 {
		best := formatFloat(r.Best.Median, 2)
		return append(row, fmt.Sprintf("beyond %s's best ratio (%s)", against, best), "—", "met", "—", strconv.Itoa(r.Runs))
	}
	fast := formatSummary(r.AgainstSpeed)
	if r.Below > 0 {
		fast += fmt.Sprintf(" (at its lowest ratio, %s)", formatFloat(r.Lowest.Median, 2))
	}
	speedX := formatRatio(r.SpeedX)
	if r.Beyond > 0 {
		speedX += fmt.Sprintf("; beyond its best ratio in %d runs", r.Beyond)
	}
	return append(row, fast, formatSummary(r.AgainstCost), speedX, ratioOrDash(r.CostX), strconv.Itoa(r.Runs))
}

// ratioOrDash formats a summary of ratios, or "—" when it has none.
func ratioOrDash(s Summary) string {
	if s.N == 0 {
		return "—"
	}
	return formatRatio(s)
}

// writeAgainstBaseline writes the table that sets every point of series
// against its group's baseline plainly, whatever the baseline's size ratio:
// both sides' speed, CPU and size ratio (see Curves.speedCost), and the
// speed and CPU ratios computed run by run (see GroupResult.Ratio).
func writeAgainstBaseline(w io.Writer, sr SectionResult, series string) {
	speed, cost := sr.Curves.speedCost()
	base := "the baseline"
	for i, g := range sr.Groups {
		if i == 0 {
			base = g.Baseline
		} else if g.Baseline != base {
			base = "the baseline"
		}
	}
	if base == "" {
		return
	}
	fmt.Fprintf(w, "### %s against %s\n\n", mdText(series), mdText(base))
	head := []string{"Setting", curvesPoint(sr), series + " " + speed.Unit(), cost.Unit(), "size ratio",
		"baseline " + speed.Unit(), cost.Unit(), "size ratio", "× vs baseline", "× less CPU", "Runs"}
	var rows [][]string
	for _, g := range sr.Groups {
		b, ok := g.Row(g.Baseline)
		if g.Baseline == "" || !ok {
			continue
		}
		setting := g.Setting
		for _, r := range g.Rows {
			if r.Series != series {
				continue
			}
			row := []string{setting, r.Point}
			setting = ""
			if why := noFigures(r); why != "" {
				row = append(row, shorten(why, 160), "—", "—", "—", "—", "—", "—", "—", "0")
			} else {
				fast, _ := g.Ratio(r.Peer, speed)
				cpu, _ := g.Ratio(r.Peer, cost)
				row = append(row, formatSummary(r.Summary(speed)), formatSummary(r.Summary(cost)), formatSummary(r.Summary(SizeRatio)),
					formatSummary(b.Summary(speed)), formatSummary(b.Summary(cost)), formatSummary(b.Summary(SizeRatio)),
					ratioOrDash(fast), ratioOrDash(cpu), strconv.Itoa(len(r.Samples)))
			}
			rows = append(rows, row)
		}
	}
	if len(rows) == 0 {
		fmt.Fprintf(w, "%s did not run beside a baseline.\n\n", mdText(series))
		return
	}
	writeTable(w, head, 2, rows)
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Each run of a %s is set against the baseline's run beside it, whatever their size ratios (compare them in the table); "+
		"the ratios are taken run by run, then their medians.\n\n", strings.ToLower(curvesPoint(sr)))
}

// ratioHeader names the ratio column after the baseline when every group of
// the section has the same one; otherwise it says "baseline", and
// markBaseline asks for the baseline rows to say so.
func ratioHeader(sr SectionResult) (head string, markBaseline bool) {
	base := ""
	for i, g := range sr.Groups {
		if i > 0 && g.Baseline != base {
			return "× vs baseline", true
		}
		base = g.Baseline
	}
	if base == "" {
		return "× vs baseline", true
	}
	return "× vs " + base, false
}

// markdownRow returns the cells of one case's row; ratio asks for the
// ratio column.
func markdownRow(metrics []Metric, g GroupResult, r Result, setting string, ratio, markBaseline bool) []string {
	peer := r.Peer
	if markBaseline && r.Peer == g.Baseline {
		peer += " (baseline)"
	}
	row := []string{setting, peer}
	blank := func() {
		for range metrics {
			row = append(row, "—")
		}
		if ratio {
			row = append(row, "—")
		}
	}
	switch {
	case r.Skip != "":
		blank()
		if len(metrics) > 0 {
			row[2] = "skipped: " + shorten(r.Skip, 160)
		}
	case r.Err != nil:
		blank()
		if len(metrics) > 0 {
			row[2] = "failed: " + shorten(r.Err.Error(), 160)
		}
	case len(r.Samples) == 0:
		blank()
		if len(metrics) > 0 {
			row[2] = "not run"
		}
	default:
		for _, m := range metrics {
			row = append(row, formatSummary(r.Summary(m)))
		}
		if ratio {
			row = append(row, ratioCell(g, r.Peer, metrics[0]))
		}
	}
	return append(row, strconv.Itoa(len(r.Samples)))
}

// ratioCell formats the ratio of peer to the group's baseline on m.
func ratioCell(g GroupResult, peer string, m Metric) string {
	if peer == g.Baseline {
		return "1.00×"
	}
	s, ok := g.Ratio(peer, m)
	if !ok {
		return "—"
	}
	return formatRatio(s)
}

// formatRatio formats a summary of ratios as "1.23× (1.10–1.30)".
func formatRatio(s Summary) string {
	if s.N == 1 || s.Min == s.Max {
		return fmt.Sprintf("%.2f×", s.Median)
	}
	return fmt.Sprintf("%.2f× (%.2f–%.2f)", s.Median, s.Min, s.Max)
}

// formatSummary formats s as "median (min–max)", all three with the
// precision the median's magnitude calls for; "—" when there is no figure.
func formatSummary(s Summary) string {
	if s.N == 0 || (s.Median == 0 && s.Max == 0) {
		return "—"
	}
	d := decimals(s.Median)
	med := formatFloat(s.Median, d)
	if s.N == 1 || s.Min == s.Max {
		return med
	}
	return fmt.Sprintf("%s (%s–%s)", med, formatFloat(s.Min, d), formatFloat(s.Max, d))
}

// decimals returns the number of decimals that shows v with three
// significant digits, none for values of 100 and more.
func decimals(v float64) int {
	a := math.Abs(v)
	switch {
	case a >= 100 || a == 0:
		return 0
	case a >= 10:
		return 1
	case a >= 1:
		return 2
	}
	d := 2 - int(math.Floor(math.Log10(a)))
	return min(d, 9)
}

// formatFloat formats v with d decimals, grouping the thousands of its
// integer part with commas.
func formatFloat(v float64, d int) string {
	s := strconv.FormatFloat(v, 'f', d, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if hasFrac {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}

// writeRow writes one Markdown table row.
func writeRow(w io.Writer, cells []string) {
	fmt.Fprint(w, "|")
	for _, c := range cells {
		if c == "" {
			fmt.Fprint(w, " |")
			continue
		}
		fmt.Fprintf(w, " %s |", mdCell(c))
	}
	fmt.Fprintln(w)
}

// mdCell makes s safe inside a table cell: one line, pipes escaped.
func mdCell(s string) string {
	return strings.ReplaceAll(mdText(s), "|", `\|`)
}

// mdText puts s on one line.
func mdText(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// shorten returns the first line of s, cut to at most n runes.
func shorten(s string, n int) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return cutRunes(s, n)
}

// cutRunes returns s cut to at most n runes (n >= 2), the last of them an
// ellipsis when s was cut.
func cutRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
