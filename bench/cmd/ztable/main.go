// Ztable turns the output of the compression benchmarks of
// github.com/kpipe/kpipe/bench (BenchmarkGzip, BenchmarkGunzip) into
// Markdown tables: one table per benchmark, one row per method, with the
// median throughput and time per op, the compression ratio, how many times
// faster than Go's compress/gzip and than the bare C zlib loop each method
// is, and the allocations per op.
//
// Usage:
//
//	go test -run '^$' -bench . -benchtime 3x -count 3 | tee z.txt
//	go run ./cmd/ztable [-spread] [z.txt ...]
//
// With no file arguments it reads standard input. The cells are medians over
// the runs of -count, which shrug off the odd run disturbed by other work on
// the machine; -spread adds each method's slowest and fastest MB/s.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// methods names the benchmarks' leaf names in the tables, in row order.
// Methods not listed follow in order of appearance, under their own names.
var methods = []struct{ key, label string }{
	{"kpipe", "kpipe (Go API, fd to fd)"},
	{"kpipeC", "kpipe C streams (kp_gzip)"},
	{"zlibC", "bare C zlib loop (kp_gzip -bare)"},
	{"compressgzip", "compress/gzip"},
	{"klauspost", "klauspost/compress/gzip"},
	{"gzipcmd", "gzip(1)"},
}

// The baselines of the two "x vs" columns.
const (
	goBase   = "compressgzip"
	zlibBase = "zlibC"
)

// titles describes each benchmark above its table.
var titles = map[string]string{
	"BenchmarkGzip":   "Gzip, level 6, file to file",
	"BenchmarkGunzip": "Gunzip of the gzip -6 file, file to file",
}

// lineRE matches one result line of go test for a sub-benchmark.
var lineRE = regexp.MustCompile(`^(Benchmark[^\s/]+)/(\S+?)(?:-\d+)?\s+(\d+)\s+([0-9.e+]+) ns/op(.*)$`)

// sample is one result line.
type sample struct {
	ns, mbps, ratio, bytesPerOp, allocs float64
}

// bench collects one benchmark's samples by method.
type bench struct {
	methods []string // in order of appearance
	samples map[string][]sample
}

func main() {
	spread := flag.Bool("spread", false, "show each method's slowest and fastest MB/s")
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
	benches, order, cpu, err := parse(io.MultiReader(inputs...))
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
	if cpu != "" {
		fmt.Printf("\nMachine: %s.\n", cpu)
	}
}

// fatal reports err and exits.
func fatal(err error) {
	fmt.Fprintf(os.Stderr, "ztable: %v\n", err)
	os.Exit(1)
}

// parse reads go test output and returns the results by benchmark name, the
// names in order of appearance, and the cpu line of the output if any.
func parse(r io.Reader) (map[string]*bench, []string, string, error) {
	benches := map[string]*bench{}
	var order []string
	var cpu string
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
		name, method := m[1], m[2]
		ns, err := strconv.ParseFloat(m[4], 64)
		if err != nil {
			return nil, nil, "", fmt.Errorf("%q: %v", line, err)
		}
		s := sample{ns: ns, mbps: nan, ratio: nan, bytesPerOp: nan, allocs: nan}
		fields := strings.Fields(m[5])
		for i := 0; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			switch fields[i+1] {
			case "MB/s":
				s.mbps = v
			case "ratio":
				s.ratio = v
			case "B/op":
				s.bytesPerOp = v
			case "allocs/op":
				s.allocs = v
			}
		}
		b := benches[name]
		if b == nil {
			b = &bench{samples: map[string][]sample{}}
			benches[name] = b
			order = append(order, name)
		}
		if _, ok := b.samples[method]; !ok {
			b.methods = append(b.methods, method)
		}
		b.samples[method] = append(b.samples[method], s)
	}
	return benches, order, cpu, sc.Err()
}
