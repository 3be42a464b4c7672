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
// table.
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
	ratioHead, markBaseline := ratioHeader(sr)
	if len(sr.Metrics) > 0 {
		head = append(head, ratioHead)
	}
	head = append(head, "Runs")
	writeRow(w, head)
	align := make([]string, len(head))
	for i := range align {
		align[i] = "---:"
	}
	align[0], align[1] = "---", "---"
	writeRow(w, align)
	for _, g := range sr.Groups {
		for i, r := range g.Rows {
			setting := ""
			if i == 0 {
				setting = g.Setting
			}
			writeRow(w, markdownRow(sr.Metrics, g, r, setting, markBaseline))
		}
	}
	fmt.Fprintln(w)
	if runs == 1 {
		fmt.Fprint(w, "Figures are from a single run; ratios are computed run by run (against the baseline's run beside it).\n\n")
	} else {
		fmt.Fprintf(w, "Figures are medians of %d runs, with the minimum and maximum in parentheses; ratios are computed run by run (each run against the baseline's run beside it), then their median taken.\n\n", runs)
	}
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

// markdownRow returns the cells of one case's row.
func markdownRow(metrics []Metric, g GroupResult, r Result, setting string, markBaseline bool) []string {
	peer := r.Peer
	if markBaseline && r.Peer == g.Baseline {
		peer += " (baseline)"
	}
	row := []string{setting, peer}
	blank := func() {
		for range metrics {
			row = append(row, "—")
		}
		if len(metrics) > 0 {
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
		if len(metrics) > 0 {
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
