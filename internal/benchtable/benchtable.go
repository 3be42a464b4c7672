// Package benchtable holds what kpipe's two Markdown table generators for
// the output of go test -bench share: reading the files (or standard
// input), parsing the result lines of sub-benchmarks, grouping them by
// benchmark, medians and number formats. Each generator lays out its own
// tables: build/benchtable.go those of internal/core's copy benchmarks
// (go run build/benchtable.go), bench/cmd/ztable those of the bench
// module's compression benchmarks.
package benchtable

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Sample is one result line: its values by unit, "ns/op" and whatever else
// the line reports ("MB/s", "B/op", "allocs/op", custom metrics).
type Sample map[string]float64

// Get returns the value of the sample in unit, NaN when the line has none.
func (s Sample) Get(unit string) float64 {
	if v, ok := s[unit]; ok {
		return v
	}
	return math.NaN()
}

// Result is one result line of a sub-benchmark.
type Result struct {
	Bench  string // the benchmark, BenchmarkName
	Sub    string // the rest of the name, after the first slash, without the -GOMAXPROCS suffix
	Sample Sample
}

// lineRE matches one result line of go test for a sub-benchmark.
var lineRE = regexp.MustCompile(`^(Benchmark[^\s/]+)/(\S+?)(?:-\d+)?\s+(\d+)\s+([0-9.e+]+) ns/op(.*)$`)

// Read reads the go test output in the files named by args, one after the
// other, or standard input when there are none. It returns the result lines
// of sub-benchmarks in order, and the value of the output's "cpu:" line
// ("" if none).
func Read(args []string) (results []Result, cpu string, err error) {
	var inputs []io.Reader
	if len(args) == 0 {
		inputs = append(inputs, os.Stdin)
	}
	for _, name := range args {
		f, err := os.Open(name)
		if err != nil {
			return nil, "", err
		}
		defer f.Close()
		inputs = append(inputs, f)
	}
	return Parse(io.MultiReader(inputs...))
}

// Parse reads go test output and returns the result lines of
// sub-benchmarks in order, and the value of the "cpu:" line ("" if none).
func Parse(r io.Reader) (results []Result, cpu string, err error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if c, ok := strings.CutPrefix(line, "cpu: "); ok {
			cpu = c
			continue
		}
		m := lineRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		ns, err := strconv.ParseFloat(m[4], 64)
		if err != nil {
			return nil, "", fmt.Errorf("%q: %v", line, err)
		}
		s := Sample{"ns/op": ns}
		fields := strings.Fields(m[5])
		for i := 0; i+1 < len(fields); i += 2 {
			if v, err := strconv.ParseFloat(fields[i], 64); err == nil {
				s[fields[i+1]] = v
			}
		}
		results = append(results, Result{Bench: m[1], Sub: m[2], Sample: s})
	}
	return results, cpu, sc.Err()
}

// Bench is the results of one benchmark.
type Bench struct {
	Name    string
	Subs    []string            // its sub-benchmarks, in order of appearance
	Samples map[string][]Sample // by sub-benchmark
}

// Group gathers results by benchmark, in order of appearance. It fails
// when there are none.
func Group(results []Result) ([]*Bench, error) {
	var benches []*Bench
	byName := map[string]*Bench{}
	for _, r := range results {
		b := byName[r.Bench]
		if b == nil {
			b = &Bench{Name: r.Bench, Samples: map[string][]Sample{}}
			byName[r.Bench] = b
			benches = append(benches, b)
		}
		if _, ok := b.Samples[r.Sub]; !ok {
			b.Subs = append(b.Subs, r.Sub)
		}
		b.Samples[r.Sub] = append(b.Samples[r.Sub], r.Sample)
	}
	if len(benches) == 0 {
		return nil, errors.New("no benchmark results in the input")
	}
	return benches, nil
}

// Median returns the median of the samples' values in unit, ignoring the
// samples without one; NaN if there are none.
func Median(samples []Sample, unit string) float64 {
	v := make([]float64, 0, len(samples))
	for _, s := range samples {
		if x := s.Get(unit); !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	sort.Float64s(v)
	n := len(v)
	switch {
	case n == 0:
		return math.NaN()
	case n%2 == 1:
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// MinMax returns the smallest and largest of the samples' values in unit.
func MinMax(samples []Sample, unit string) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, s := range samples {
		lo, hi = math.Min(lo, s.Get(unit)), math.Max(hi, s.Get(unit))
	}
	return lo, hi
}

// Runs returns the distinct numbers of samples of subs in b, sorted as
// strings and joined by "/", for a table's "median of N runs".
func Runs(b *Bench, subs []string) string {
	seen := map[int]bool{}
	var runs []string
	for _, k := range subs {
		if n := len(b.Samples[k]); !seen[n] {
			seen[n] = true
			runs = append(runs, strconv.Itoa(n))
		}
	}
	sort.Strings(runs)
	return strings.Join(runs, "/")
}

// Sig formats v with three significant digits, without exponent; "?" when
// it is missing or infinite.
func Sig(v float64) string {
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

// A Label is the text a table shows for a sub-benchmark's key.
type Label struct{ Key, Text string }

// Order returns the keys found in the order of known, then the keys known
// does not list, in order of appearance; labels are their texts (a key
// known does not list is its own).
func Order(known []Label, found []string) (keys, labels []string) {
	for _, l := range known {
		if slices.Contains(found, l.Key) {
			keys, labels = append(keys, l.Key), append(labels, l.Text)
		}
	}
	for _, k := range found {
		if !slices.Contains(keys, k) {
			keys, labels = append(keys, k), append(labels, k)
		}
	}
	return keys, labels
}

// Row formats the cells of one Markdown table row.
func Row(cells []string) string { return "| " + strings.Join(cells, " | ") + " |\n" }

// Load is Read and then Group for the main of the command name, with the
// results keep rejects left out (keep nil: none). An error ends the command
// with status 1.
func Load(name string, args []string, keep func(Result) bool) (benches []*Bench, cpu string) {
	results, cpu, err := Read(args)
	if err == nil && keep != nil {
		kept := results[:0]
		for _, r := range results {
			if keep(r) {
				kept = append(kept, r)
			}
		}
		results = kept
	}
	if err == nil {
		benches, err = Group(results)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
	return benches, cpu
}
