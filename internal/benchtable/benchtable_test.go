package benchtable

import (
	"math"
	"strings"
	"testing"
)

// TestParseGroup parses a go test output with two benchmarks, a benchmark
// without sub-benchmarks and other lines, and checks the groups, the order
// and the values.
func TestParseGroup(t *testing.T) {
	out := `goos: linux
cpu: Some CPU @ 2.00GHz
BenchmarkGzip/kpipe-2         	       3	 400000000 ns/op	 100.00 MB/s	 0.3100 ratio	  1024 B/op	       2 allocs/op
BenchmarkFileCopy/1MiB/iocopy-8 	     100	     12345 ns/op	 84.94 MB/s
BenchmarkPlain-2              	       1	      1000 ns/op
BenchmarkGzip/kpipe-2         	       3	 200000000 ns/op	 200.00 MB/s	 0.3100 ratio	  1024 B/op	       2 allocs/op
BenchmarkGzip/zlibC-2         	       3	 300000000 ns/op
PASS
`
	results, cpu, err := Parse(strings.NewReader(out))
	if err != nil || cpu != "Some CPU @ 2.00GHz" || len(results) != 4 {
		t.Fatalf("Parse: %d results, cpu %q, %v; want 4, the cpu, nil", len(results), cpu, err)
	}
	benches, err := Group(results)
	if err != nil || len(benches) != 2 || benches[0].Name != "BenchmarkGzip" || benches[1].Name != "BenchmarkFileCopy" {
		t.Fatalf("Group: %v, %v; want BenchmarkGzip then BenchmarkFileCopy", benches, err)
	}
	gz := benches[0]
	if strings.Join(gz.Subs, ",") != "kpipe,zlibC" || len(gz.Samples["kpipe"]) != 2 {
		t.Errorf("BenchmarkGzip: subs %q, %d kpipe samples; want kpipe,zlibC and 2", gz.Subs, len(gz.Samples["kpipe"]))
	}
	if got := Median(gz.Samples["kpipe"], "ns/op"); got != 3e8 {
		t.Errorf("median ns/op %v, want 3e8", got)
	}
	if got := Median(gz.Samples["zlibC"], "MB/s"); !math.IsNaN(got) {
		t.Errorf("median of a missing unit %v, want NaN", got)
	}
	if lo, hi := MinMax(gz.Samples["kpipe"], "MB/s"); lo != 100 || hi != 200 {
		t.Errorf("MinMax = %v, %v; want 100, 200", lo, hi)
	}
	if got := benches[1].Subs; len(got) != 1 || got[0] != "1MiB/iocopy" {
		t.Errorf("BenchmarkFileCopy subs %q, want [1MiB/iocopy]", got)
	}
	if _, err := Group(nil); err == nil {
		t.Error("Group of no results: no error")
	}
}

// TestSig checks the three-significant-digit format.
func TestSig(t *testing.T) {
	for v, want := range map[float64]string{1234.6: "1235", 12.345: "12.3", 1.2345: "1.23", 0.012345: "0.012", math.NaN(): "?", math.Inf(1): "?"} {
		if got := Sig(v); got != want {
			t.Errorf("Sig(%v) = %q, want %q", v, got, want)
		}
	}
}

// TestOrder checks that the known keys come first, in the known order and
// with their texts, then the others as found, under their own names.
func TestOrder(t *testing.T) {
	known := []Label{{"a", "A"}, {"b", "B"}, {"c", "C"}}
	keys, labels := Order(known, []string{"x", "c", "a", "y"})
	if got := strings.Join(keys, ","); got != "a,c,x,y" {
		t.Errorf("keys %s, want a,c,x,y", got)
	}
	if got := strings.Join(labels, ","); got != "A,C,x,y" {
		t.Errorf("labels %s, want A,C,x,y", got)
	}
}
