package main

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

var nan = math.NaN()

// median returns the median of the values f picks from samples, ignoring
// missing (NaN) ones; NaN if there are none.
func median(samples []sample, f func(sample) float64) float64 {
	v := make([]float64, 0, len(samples))
	for _, s := range samples {
		if x := f(s); !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	sort.Float64s(v)
	n := len(v)
	switch {
	case n == 0:
		return nan
	case n%2 == 1:
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// rows returns the methods of b in table order, with their labels.
func rows(b *bench) (keys, labels []string) {
	for _, m := range methods {
		if _, ok := b.samples[m.key]; ok {
			keys, labels = append(keys, m.key), append(labels, m.label)
		}
	}
	for _, k := range b.methods {
		known := false
		for _, m := range methods {
			known = known || m.key == k
		}
		if !known {
			keys, labels = append(keys, k), append(labels, k)
		}
	}
	return keys, labels
}

// medianNS returns the median ns/op of method k in b, NaN if absent.
func medianNS(b *bench, k string) float64 {
	return median(b.samples[k], func(s sample) float64 { return s.ns })
}

// printTable writes one benchmark's table.
func printTable(w io.Writer, name string, b *bench, spread bool) {
	keys, labels := rows(b)
	title := titles[name]
	if title == "" {
		title = name
	}
	var runs []string
	seen := map[int]bool{}
	var size float64 // uncompressed bytes per op, from MB/s and ns/op
	for _, k := range keys {
		n := len(b.samples[k])
		if !seen[n] {
			seen[n] = true
			runs = append(runs, strconv.Itoa(n))
		}
		for _, s := range b.samples[k] {
			if size == 0 && !math.IsNaN(s.mbps) {
				size = s.mbps * s.ns / 1e3
			}
		}
	}
	sort.Strings(runs)
	fmt.Fprintf(w, "%s (`%s`): median of %s runs; one op is the whole corpus (%s MB uncompressed); "+
		"MB/s = 10^6 uncompressed bytes per second; x vs = that baseline's time / the method's time.\n\n",
		title, name, strings.Join(runs, "/"), sig(size/1e6))

	showRatio := false
	for _, k := range keys {
		showRatio = showRatio || !math.IsNaN(median(b.samples[k], func(s sample) float64 { return s.ratio }))
	}
	header := []string{"method", "MB/s", "s/op"}
	if showRatio {
		header = append(header, "ratio")
	}
	header = append(header, "x vs compress/gzip", "x vs bare zlib", "B/op", "allocs/op")
	fmt.Fprintf(w, "| %s |\n", strings.Join(header, " | "))
	fmt.Fprintf(w, "|---|%s\n", strings.Repeat("---:|", len(header)-1))

	goNS, zlibNS := medianNS(b, goBase), medianNS(b, zlibBase)
	for i, k := range keys {
		ss := b.samples[k]
		ns := medianNS(b, k)
		mbps := sig(median(ss, func(s sample) float64 { return s.mbps }))
		if spread {
			lo, hi := math.Inf(1), math.Inf(-1)
			for _, s := range ss {
				lo, hi = math.Min(lo, s.mbps), math.Max(hi, s.mbps)
			}
			mbps += fmt.Sprintf(" (%s-%s)", sig(lo), sig(hi))
		}
		row := []string{labels[i], mbps, sig(ns / 1e9)}
		if showRatio {
			row = append(row, fixed(median(ss, func(s sample) float64 { return s.ratio }), 3))
		}
		row = append(row,
			times(goNS, ns), times(zlibNS, ns),
			fixed(median(ss, func(s sample) float64 { return s.bytesPerOp }), 0),
			fixed(median(ss, func(s sample) float64 { return s.allocs }), 0))
		fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
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

// sig formats v with three significant digits, without exponent.
func sig(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "?"
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}
