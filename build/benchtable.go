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
//	go test -run '^$' -bench BenchmarkFileCopy -benchmem -count 5 -timeout 60m . | tee bench.txt
//	go run build/benchtable.go [-spread] [bench.txt ...]
//
// With no file arguments it reads standard input. Run the benchmarks with
// -count 5 or more: the tables show medians, which shrug off the odd run
// disturbed by other work on the machine. -spread adds each cell's fastest
// and slowest time.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// methods names the benchmarks' leaf names in the table, in column order.
// The first is the baseline of the "times faster" columns.
var methods = []struct{ key, label string }{
	{"readwrite32K", "32 KiB read/write"},
	{"iocopy", "io.Copy"},
	{"kpipeCopy", "kpipe.Copy"},
	{"spliceLoop", "kpipe.Splice loop"},
}

// titles describes each benchmark above its table.
var titles = map[string]string{
	"BenchmarkFileCopy":  "File to file, in the page cache",
	"BenchmarkFileToTCP": "File to a loopback TCP connection (receiver: io.Copy to io.Discard)",
}

// lineRE matches one benchmark result line of go test.
var lineRE = regexp.MustCompile(`^(Benchmark[^\s/]+)/([^\s/]+)/([^\s]+?)(?:-\d+)?\s+(\d+)\s+([0-9.]+) ns/op(.*)$`)

// sample is one result line.
type sample struct {
	ns, mbps, bytesPerOp, allocs float64
}

// cell collects the samples of one benchmark, size and method.
type cell struct {
	samples []sample
}

// bench collects one benchmark's results.
type bench struct {
	sizes   []string // in order of appearance
	methods []string // in order of appearance
	cells   map[[2]string]*cell
}

// main reads the results and prints the tables.
func main() {
	spread := flag.Bool("spread", false, "show each cell's fastest and slowest time")
	flag.Parse()
	var inputs []io.Reader
	if flag.NArg() == 0 {
		inputs = append(inputs, os.Stdin)
	}
	for _, name := range flag.Args() {
		f, err := os.Open(name)
		if err != nil {
			fatal(err)
		}
		defer f.Close()
		inputs = append(inputs, f)
	}
	benches, order, err := parse(io.MultiReader(inputs...))
	if err != nil {
		fatal(err)
	}
	if len(order) == 0 {
		fatal(fmt.Errorf("no benchmark results in the input"))
	}
	for i, name := range order {
		if i > 0 {
			fmt.Println()
		}
		printTable(os.Stdout, name, benches[name], *spread)
	}
}

// fatal reports err and exits.
func fatal(err error) {
	fmt.Fprintf(os.Stderr, "benchtable: %v\n", err)
	os.Exit(1)
}

// parse reads go test output and returns the results by benchmark name,
// and the names in order of appearance.
func parse(r io.Reader) (map[string]*bench, []string, error) {
	benches := map[string]*bench{}
	var order []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := lineRE.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		name, size, method := m[1], m[2], m[3]
		ns, err := strconv.ParseFloat(m[5], 64)
		if err != nil {
			return nil, nil, fmt.Errorf("%q: %v", sc.Text(), err)
		}
		s := sample{ns: ns, mbps: math.NaN(), bytesPerOp: math.NaN(), allocs: math.NaN()}
		fields := strings.Fields(m[6])
		for i := 0; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			switch fields[i+1] {
			case "MB/s":
				s.mbps = v
			case "B/op":
				s.bytesPerOp = v
			case "allocs/op":
				s.allocs = v
			}
		}
		b := benches[name]
		if b == nil {
			b = &bench{cells: map[[2]string]*cell{}}
			benches[name] = b
			order = append(order, name)
		}
		if !contains(b.sizes, size) {
			b.sizes = append(b.sizes, size)
		}
		if !contains(b.methods, method) {
			b.methods = append(b.methods, method)
		}
		c := b.cells[[2]string{size, method}]
		if c == nil {
			c = &cell{}
			b.cells[[2]string{size, method}] = c
		}
		c.samples = append(c.samples, s)
	}
	return benches, order, sc.Err()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// median returns the median of the values f picks from samples.
func median(samples []sample, f func(sample) float64) float64 {
	v := make([]float64, 0, len(samples))
	for _, s := range samples {
		v = append(v, f(s))
	}
	sort.Float64s(v)
	n := len(v)
	if n == 0 {
		return math.NaN()
	}
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// minMax returns the smallest and largest ns/op of samples.
func minMax(samples []sample) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, s := range samples {
		lo, hi = math.Min(lo, s.ns), math.Max(hi, s.ns)
	}
	return lo, hi
}

// columns returns the methods of b in table order, with their labels.
func columns(b *bench) (keys, labels []string) {
	for _, m := range methods {
		if contains(b.methods, m.key) {
			keys, labels = append(keys, m.key), append(labels, m.label)
		}
	}
	for _, k := range b.methods {
		if !contains(keys, k) {
			keys, labels = append(keys, k), append(labels, k)
		}
	}
	return keys, labels
}

// printTable writes one benchmark's table.
func printTable(w io.Writer, name string, b *bench, spread bool) {
	keys, labels := columns(b)
	counts := map[int]bool{}
	for _, c := range b.cells {
		counts[len(c.samples)] = true
	}
	title := titles[name]
	if title == "" {
		title = name
	}
	var runs []string
	for n := range counts {
		runs = append(runs, strconv.Itoa(n))
	}
	sort.Strings(runs)
	fmt.Fprintf(w, "%s (`%s`): median of %s runs; MB/s = 10^6 bytes/s; speed-up = %s time / method time.\n\n",
		title, name, strings.Join(runs, "/"), labels[0])

	baseline := keys[0]
	header := []string{"size"}
	header = append(header, labels...)
	for i := 1; i < len(keys); i++ {
		header = append(header, labels[i]+" speed-up")
	}
	fmt.Fprintf(w, "| %s |\n", strings.Join(header, " | "))
	fmt.Fprintf(w, "|%s\n", strings.Repeat("---|", len(header)))

	for _, size := range b.sizes {
		row := []string{size}
		base := b.cells[[2]string{size, baseline}]
		var baseNS float64 = math.NaN()
		if base != nil {
			baseNS = median(base.samples, func(s sample) float64 { return s.ns })
		}
		var ratios []string
		for i, k := range keys {
			c := b.cells[[2]string{size, k}]
			if c == nil {
				row = append(row, "-")
				if i > 0 {
					ratios = append(ratios, "-")
				}
				continue
			}
			ns := median(c.samples, func(s sample) float64 { return s.ns })
			mbps := median(c.samples, func(s sample) float64 { return s.mbps })
			text := fmt.Sprintf("%s ms, %s MB/s", sig(ns/1e6), sig(mbps))
			if spread {
				lo, hi := minMax(c.samples)
				text += fmt.Sprintf(" (%s-%s ms)", sig(lo/1e6), sig(hi/1e6))
			}
			row = append(row, text)
			if i > 0 {
				ratios = append(ratios, fmt.Sprintf("%.2fx", baseNS/ns))
			}
		}
		row = append(row, ratios...)
		fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
	}

	// Allocations, which do not depend on the machine's load.
	fmt.Fprintf(w, "\nAllocations per copy (B/op, allocs/op, medians):")
	for i, k := range keys {
		var parts []string
		for _, size := range b.sizes {
			c := b.cells[[2]string{size, k}]
			if c == nil {
				continue
			}
			by := median(c.samples, func(s sample) float64 { return s.bytesPerOp })
			al := median(c.samples, func(s sample) float64 { return s.allocs })
			if math.IsNaN(by) {
				continue
			}
			parts = append(parts, fmt.Sprintf("%s %.0f B/%.0f", size, by, al))
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

// sig formats v with three significant digits, without exponent.
func sig(v float64) string {
	if math.IsNaN(v) {
		return "?"
	}
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}
