package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/kpipe/kpipe/internal/benchtable"
)

// printTable writes one benchmark's table.
func printTable(w io.Writer, b *benchtable.Bench, spread bool) {
	keys, labels := benchtable.Order(methods, b.Subs)
	title := titles[b.Name]
	if title == "" {
		title = b.Name
	}
	var size float64 // uncompressed bytes per op, from MB/s and ns/op
	for _, k := range keys {
		for _, s := range b.Samples[k] {
			if mbps := s.Get("MB/s"); size == 0 && !math.IsNaN(mbps) {
				size = mbps * s.Get("ns/op") / 1e3
			}
		}
	}
	fmt.Fprintf(w, "%s (`%s`): median of %s runs; one op is the whole corpus (%s MB uncompressed); "+
		"MB/s = 10^6 uncompressed bytes per second; x vs = that baseline's time / the method's time.\n\n",
		title, b.Name, benchtable.Runs(b, keys), benchtable.Sig(size/1e6))

	showRatio := false
	for _, k := range keys {
		showRatio = showRatio || !math.IsNaN(benchtable.Median(b.Samples[k], "ratio"))
	}
	header := []string{"method", "MB/s", "s/op"}
	if showRatio {
		header = append(header, "ratio")
	}
	header = append(header, "x vs compress/gzip", "x vs bare zlib", "B/op", "allocs/op")
	fmt.Fprint(w, benchtable.Row(header))
	fmt.Fprintf(w, "|---|%s\n", strings.Repeat("---:|", len(header)-1))

	goNS := benchtable.Median(b.Samples[goBase], "ns/op")
	zlibNS := benchtable.Median(b.Samples[zlibBase], "ns/op")
	for i, k := range keys {
		ss := b.Samples[k]
		ns := benchtable.Median(ss, "ns/op")
		mbps := benchtable.Sig(benchtable.Median(ss, "MB/s"))
		if spread {
			lo, hi := benchtable.MinMax(ss, "MB/s")
			mbps += fmt.Sprintf(" (%s-%s)", benchtable.Sig(lo), benchtable.Sig(hi))
		}
		row := []string{labels[i], mbps, benchtable.Sig(ns / 1e9)}
		if showRatio {
			row = append(row, fixed(benchtable.Median(ss, "ratio"), 3))
		}
		row = append(row,
			times(goNS, ns), times(zlibNS, ns),
			fixed(benchtable.Median(ss, "B/op"), 0),
			fixed(benchtable.Median(ss, "allocs/op"), 0))
		fmt.Fprint(w, benchtable.Row(row))
	}
}

// times formats base/ns as a speed-up, "-" when either is missing.
func times(base, ns float64) string {
	if math.IsNaN(base) || math.IsNaN(ns) || ns == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", base/ns)
}

// fixed formats v with prec decimals, "-" when it is missing.
func fixed(v float64, prec int) string {
	if math.IsNaN(v) {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}
