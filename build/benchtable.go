//go:build ignore

// Benchtable turns the output of kpipe's benchmarks into the Markdown tables
// of the README: one table per benchmark (BenchmarkFileCopy,
// BenchmarkFileToTCP), one row per size, one column per method, each cell
// the median time per copy and the throughput it gives, and then how many
// times faster than the 32 KiB read/write loop each method is, as in the
// "How much faster?" column of the Zero-Copy article's table.
//
// Usage:
//
//	go test -run '^$' -bench BenchmarkFileCopy -benchmem -count 5 -timeout 60m ./internal/core | tee bench.txt
//	go run build/benchtable.go [-spread] [bench.txt ...]
//
// With no file arguments it reads standard input. Run the benchmarks with
// -count 5 or more: the tables show medians, which shrug off the odd run
// disturbed by other work on the machine. -spread adds each cell's fastest
// and slowest time.
package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/kpipe/kpipe/internal/benchtable"
)

// methods names the benchmarks' leaf names in the table, in column order.
// The first is the baseline of the "times faster" columns.
var methods = []benchtable.Label{
	{Key: "readwrite32K", Text: "32 KiB read/write"},
	{Key: "iocopy", Text: "io.Copy"},
	{Key: "kpipeCopy", Text: "kpipe.Copy"},
	{Key: "spliceLoop", Text: "kpipe.Splice loop"},
}

// titles describes each benchmark above its table.
var titles = map[string]string{
	"BenchmarkFileCopy":  "File to file, in the page cache",
	"BenchmarkFileToTCP": "File to a loopback TCP connection (receiver: io.Copy to io.Discard)",
}

// main reads the results and prints the tables.
func main() {
	spread := flag.Bool("spread", false, "show each cell's fastest and slowest time")
	flag.Parse()
	// The benchmarks' names are BenchmarkName/SIZE/METHOD.
	benches, _ := benchtable.Load("benchtable", flag.Args(),
		func(r benchtable.Result) bool { return strings.Contains(r.Sub, "/") })
	for i, b := range benches {
		if i > 0 {
			fmt.Println()
		}
		printTable(os.Stdout, b, *spread)
	}
}

// sizesAndMethods returns the sizes and methods of b's sub-benchmarks, each
// in order of appearance.
func sizesAndMethods(b *benchtable.Bench) (sizes, methods []string) {
	for _, sub := range b.Subs {
		size, method, _ := strings.Cut(sub, "/")
		if !slices.Contains(sizes, size) {
			sizes = append(sizes, size)
		}
		if !slices.Contains(methods, method) {
			methods = append(methods, method)
		}
	}
	return sizes, methods
}

// printTable writes one benchmark's table.
func printTable(w io.Writer, b *benchtable.Bench, spread bool) {
	sizes, found := sizesAndMethods(b)
	keys, labels := benchtable.Order(methods, found)
	cell := func(size, method string) []benchtable.Sample { return b.Samples[size+"/"+method] }
	title := titles[b.Name]
	if title == "" {
		title = b.Name
	}
	fmt.Fprintf(w, "%s (`%s`): median of %s runs; MB/s = 10^6 bytes/s; speed-up = %s time / method time.\n\n",
		title, b.Name, benchtable.Runs(b, b.Subs), labels[0])

	baseline := keys[0]
	header := []string{"size"}
	header = append(header, labels...)
	for i := 1; i < len(keys); i++ {
		header = append(header, labels[i]+" speed-up")
	}
	fmt.Fprint(w, benchtable.Row(header))
	fmt.Fprintf(w, "|%s\n", strings.Repeat("---|", len(header)))

	for _, size := range sizes {
		row := []string{size}
		baseNS := benchtable.Median(cell(size, baseline), "ns/op")
		var ratios []string
		for i, k := range keys {
			c := cell(size, k)
			if c == nil {
				row = append(row, "-")
				if i > 0 {
					ratios = append(ratios, "-")
				}
				continue
			}
			ns := benchtable.Median(c, "ns/op")
			mbps := benchtable.Median(c, "MB/s")
			text := fmt.Sprintf("%s ms, %s MB/s", benchtable.Sig(ns/1e6), benchtable.Sig(mbps))
			if spread {
				lo, hi := benchtable.MinMax(c, "ns/op")
				text += fmt.Sprintf(" (%s-%s ms)", benchtable.Sig(lo/1e6), benchtable.Sig(hi/1e6))
			}
			row = append(row, text)
			if i > 0 {
				ratios = append(ratios, fmt.Sprintf("%.2fx", baseNS/ns))
			}
		}
		row = append(row, ratios...)
		fmt.Fprint(w, benchtable.Row(row))
	}

	// Allocations, which do not depend on the machine's load.
	fmt.Fprintf(w, "\nAllocations per copy (B/op, allocs/op, medians):")
	for i, k := range keys {
		var parts []string
		for _, size := range sizes {
			c := cell(size, k)
			by := benchtable.Median(c, "B/op")
			if math.IsNaN(by) {
				continue
			}
			parts = append(parts, fmt.Sprintf("%s %.0f B/%.0f", size, by, benchtable.Median(c, "allocs/op")))
		}
		if len(parts) > 0 {
			sep := ";"
			if i == len(keys)-1 {
				sep = "."
			}
			fmt.Fprintf(w, " %s: %s%s", labels[i], strings.Join(parts, ", "), sep)
		}
	}
	fmt.Fprintln(w)
}
