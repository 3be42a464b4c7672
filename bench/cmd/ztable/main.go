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
	"flag"
	"fmt"
	"os"

	"github.com/kpipe/kpipe/internal/benchtable"
)

// methods names the benchmarks' leaf names in the tables, in row order.
// Methods not listed follow in order of appearance, under their own names.
var methods = []benchtable.Label{
	{Key: "kpipe", Text: "kpipe (Go API, fd to fd)"},
	{Key: "kpipeC", Text: "kpipe C streams (kp_gzip)"},
	{Key: "zlibC", Text: "bare C zlib loop (kp_gzip -bare)"},
	{Key: "compressgzip", Text: "compress/gzip"},
	{Key: "klauspost", Text: "klauspost/compress/gzip"},
	{Key: "gzipcmd", Text: "gzip(1)"},
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

// main reads the results and prints the tables, then the machine's CPU.
func main() {
	spread := flag.Bool("spread", false, "show each method's slowest and fastest MB/s")
	flag.Parse()
	benches, cpu := benchtable.Load("ztable", flag.Args(), nil)
	for i, b := range benches {
		if i > 0 {
			fmt.Println()
		}
		printTable(os.Stdout, b, *spread)
	}
	if cpu != "" {
		fmt.Printf("\nMachine: %s.\n", cpu)
	}
}
