package harness

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// compressTestSize is the size of the tiny input of the tests.
const compressTestSize = 1 << 20

// TestCompressSections runs the Gzip levels and Gunzip sections once on a
// tiny input and checks every peer's sample, the skip reasons, the sweep's
// points, and that the work directory is left empty.
func TestCompressSections(t *testing.T) {
	src := compressTestSource(t)
	dir := memTestDir(t)
	in := compressInput{
		setting: "Go source, 1 MiB",
		about:   "Go source",
		make: func(ctx context.Context, dir, prefix string, withGzip bool) (compressFiles, error) {
			return compressPrefixInput(ctx, src, compressTestSize, dir, prefix, withGzip)
		},
	}
	cfg := Config{Dir: dir, CBinDir: compressTestCBinDir()}
	sections := compressSections(cfg, in, in)
	if len(sections) != 2 {
		t.Fatalf("%d sections, want 2", len(sections))
	}
	results, err := Run(context.Background(), sections, Options{Runs: 1})
	if err != nil {
		t.Fatal(err)
	}
	for si, sr := range results {
		gzip := si == 0
		if gzip != (sr.Curves != nil) {
			t.Errorf("%s: Curves %v", sr.Name, sr.Curves)
		}
		for _, gr := range sr.Groups {
			if gr.Err != nil {
				t.Fatalf("%s: setup: %v", sr.Name, gr.Err)
			}
			if want := map[bool]string{true: "", false: compressBaseline}[gzip]; gr.Baseline != want {
				t.Errorf("%s: baseline %q, want %q", sr.Name, gr.Baseline, want)
			}
			points := map[string]int{}
			for _, r := range gr.Rows {
				compressCheckRow(t, sr.Name, r, gzip)
				if gzip && (r.Series == "" || r.Point == "") {
					t.Errorf("%s: %s: series %q, point %q", sr.Name, r.Peer, r.Series, r.Point)
				}
				points[r.Series]++
			}
			if gzip {
				for _, er := range sr.Curves.EqualRatio {
					for _, s := range []string{er.Series, er.Against} {
						if points[s] != 9 {
							t.Errorf("%s: series %q has %d points, want 9", sr.Name, s, points[s])
						}
					}
					for _, row := range equalRatioRows(gr, er, Throughput, CPUPerGiB) {
						if row.Runs != 1 {
							t.Errorf("%s against %s, level %s: %d runs (%s)", er.Series, er.Against, row.Point, row.Runs, row.Why)
						}
					}
				}
			}
		}
	}
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range left {
		t.Errorf("left in the work directory: %s", e.Name())
	}
}

// TestCompressSkipsWithoutCPrograms expects the kp_gzip peers to be
// skipped, with a reason, when no directory of C programs is given or it
// has no kp_gzip.
func TestCompressSkipsWithoutCPrograms(t *testing.T) {
	for _, cbin := range []string{"", memTestDir(t)} {
		in := compressInput{setting: "none", make: nil}
		for _, s := range compressSections(Config{Dir: memTestDir(t), CBinDir: cbin}, in, in) {
			for _, c := range s.Groups[0].Cases {
				isC := strings.Contains(c.Peer, "C loop")
				if isC && !strings.Contains(c.Skip, "kp_gzip") && !strings.Contains(c.Skip, "CBinDir") {
					t.Errorf("CBinDir %q: %s: skip %q, want a reason", cbin, c.Peer, c.Skip)
				}
				if !isC && strings.Contains(c.Skip, "kp_gzip") {
					t.Errorf("CBinDir %q: %s skipped: %s", cbin, c.Peer, c.Skip)
				}
			}
		}
	}
}

// TestSweepCases checks the sweep's cases: every peer at each of its
// levels, a peer's levels together, output files of their own, and fewer
// runs at the slow levels but for the curves kpipe is set against.
func TestSweepCases(t *testing.T) {
	noKpGzip := func() (string, error) { return "", errors.New("none") }
	cases := sweepCases(2, noKpGzip)
	files := map[string]bool{}
	levels := map[string][]string{}
	var order []string
	for _, c := range cases {
		if files[c.file] {
			t.Errorf("output file %q twice", c.file)
		}
		files[c.file] = true
		if len(levels[c.m.Name]) == 0 {
			order = append(order, c.m.Name)
		} else if order[len(order)-1] != c.m.Name {
			t.Errorf("%s: levels not together", c.peer)
		}
		levels[c.m.Name] = append(levels[c.m.Name], c.point)
		if want := c.series + ", level " + c.point; c.peer != want {
			t.Errorf("peer %q, want %q", c.peer, want)
		}
		level, _ := strconv.Atoi(c.point)
		reference := c.m.Name == sweepKlauspost || c.m.Name == sweepPgzip
		if want := map[bool]int{true: sweepSlowRuns, false: 0}[level >= sweepSlowLevel && !reference]; c.maxRuns != want {
			t.Errorf("%s: MaxRuns %d, want %d", c.peer, c.maxRuns, want)
		}
	}
	all := "1 2 3 4 5 6 7 8 9"
	for name, want := range map[string]string{
		"kpipe": all, "kpipeThreads": all, "klauspost": all, "pgzip": all, "compressgzip": all,
		"zlibC": all, "gzipcmd": all, "pigzcmd": all, "igzipcmd": "1 2 3", "libdeflatecmd": all,
	} {
		if got := strings.Join(levels[name], " "); got != want {
			t.Errorf("%s: levels %q, want %q", name, got, want)
		}
	}
	if len(levels) != 10 {
		t.Errorf("%d peers, want 10: %v", len(levels), order)
	}
	if order[0] != sweepKpipe || order[1] != sweepKpipeThreads {
		t.Errorf("peers in order %v, want kpipe's first", order)
	}
}

func TestCompressSampleFile(t *testing.T) {
	dir := memTestDir(t)
	src := filepath.Join(dir, "src")
	if err := os.WriteFile(src, []byte("0123456789abcdefghij"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		chunks int
		chunk  int64
		want   string
	}{
		{4, 2, "0167cdij"}, // at 0, 6, 12 and 18
		{2, 3, "012hij"},   // at 0 and 17
		{1, 5, "01234"},
		{5, 4, "0123456789abcdefghij"},  // the file is no longer: whole
		{10, 4, "0123456789abcdefghij"}, // shorter: whole
	} {
		dst := filepath.Join(dir, "dst")
		if err := compressSampleFile(dst, src, c.chunks, c.chunk); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(dst)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != c.want {
			t.Errorf("%d chunks of %d: %q, want %q", c.chunks, c.chunk, got, c.want)
		}
	}
}

// compressCheckRow checks one peer's result: a reason if skipped, else one
// sample of the whole input, with a compression ratio above 1 for gzip.
func compressCheckRow(t *testing.T, section string, r Result, gzip bool) {
	t.Helper()
	s, ok := sampleOf(t, section, r)
	if !ok {
		return
	}
	if s.Bytes != compressTestSize {
		t.Errorf("%s: %s: %d bytes, want %d", section, r.Peer, s.Bytes, compressTestSize)
	}
	if s.Elapsed <= 0 || s.CPU < 0 {
		t.Errorf("%s: %s: elapsed %v, CPU %v", section, r.Peer, s.Elapsed, s.CPU)
	}
	if gzip && s.SizeRatio() <= 1 {
		t.Errorf("%s: %s: size ratio %.2f, want > 1", section, r.Peer, s.SizeRatio())
	}
	if !gzip && s.Out != 0 {
		t.Errorf("%s: %s: Out %d, want 0", section, r.Peer, s.Out)
	}
	t.Logf("%s: %s: %.0f MB/s, %.1f CPU s/GiB, ratio %.2f", section, r.Peer, s.MBps(), s.CPUPerGiB(), s.SizeRatio())
}

// compressTestSource writes compressTestSize bytes of Go source (the .go
// files of the toolchain's net/http, one after another) to a file of its own
// and returns its path.
func compressTestSource(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	root := filepath.Join(strings.TrimSpace(string(out)), "src", "net", "http")
	var data []byte
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || len(data) >= compressTestSize {
			return err
		}
		if d.Type().IsRegular() && strings.HasSuffix(path, ".go") {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			data = append(data, b...)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < compressTestSize {
		t.Fatalf("%s holds %d bytes of Go source, want %d", root, len(data), compressTestSize)
	}
	path := filepath.Join(memTestDir(t), "source.go.txt")
	if err := os.WriteFile(path, data[:compressTestSize], 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// compressTestCBinDir returns the CMake build directory of the C programs
// if it holds kp_gzip, or "" (then those peers are skipped).
func compressTestCBinDir() string {
	dir, err := filepath.Abs("../../build/cmake-bench")
	if err != nil {
		return ""
	}
	if _, err := os.Stat(filepath.Join(dir, "kp_gzip")); err != nil {
		return ""
	}
	return dir
}
