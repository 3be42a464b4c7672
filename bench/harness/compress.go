package harness

import (
	"fmt"
	"runtime"
	"strconv"

	"github.com/kpipe/kpipe/bench"
)

func init() { Register(40, CompressSections) }

// compressLevel is the level of the gzip form of the input that Gunzip
// decompresses.
const compressLevel = 6

// compressBaseline is the peer the Gunzip section's ratios divide by.
const compressBaseline = "compress/gzip"

// The levels of the Gzip levels section; levels from sweepSlowLevel up run
// at most sweepSlowRuns times (Case.MaxRuns), but for the two curves that
// kpipe is set against, which run every time so that each of kpipe's runs
// has a whole curve beside it.
const (
	sweepMinLevel  = 1
	sweepMaxLevel  = 9
	sweepSlowLevel = 7
	sweepSlowRuns  = 3
)

// The Names (bench.Method) of the sweep's peers that the report sets side
// by side at equal size ratio: kpipe on one thread against klauspost/compress,
// kpipe on every core against pgzip.
const (
	sweepKpipe        = "kpipe"
	sweepKpipeThreads = "kpipeThreads"
	sweepKlauspost    = "klauspost"
	sweepPgzip        = "pgzip"
)

// CompressSections returns the sections "Gzip levels" and "Gunzip". Gzip
// levels sets kpipe and its peers (see bench.GzipLevelMethods) side by side
// at every level from 1 to 9 that each has, speed against size ratio, on a
// sample of a tar of the Go toolchain's source tree: 16 pieces of 1 MiB
// taken across the tar, 4 with cfg.Quick (see compressSweepInput). Gunzip
// decompresses the gzip -6 form of the whole tar (see bench.Load; with
// cfg.Quick its first 4 MiB, copied into cfg.Dir for the run) with kpipe and
// its peers (see bench.GunzipMethods). Both run file to file in cfg.Dir; the
// C programs come from cfg.CBinDir, the others from PATH.
func CompressSections(cfg Config) []Section {
	return compressSections(cfg, compressSweepInput(cfg.Quick), compressCorpusInput(cfg.Quick))
}

// compressSections returns the Gzip levels section on sweepIn and the
// Gunzip section on gunzipIn.
func compressSections(cfg Config, sweepIn, gunzipIn compressInput) []Section {
	kpGzip := compressKpGzip(cfg)
	threads := runtime.NumCPU()
	cases := sweepCases(threads, kpGzip)
	series := func(name string) string {
		for _, c := range cases {
			if c.m.Name == name {
				return c.series
			}
		}
		return name
	}
	return []Section{
		{
			Name: "Gzip levels",
			About: "Compressing " + sweepIn.about + ", at every level from 1 to 9 that each peer has, " +
				"file to file in memory (tmpfs). The peers: kpipe.Codec{Level: L}.Gzip between *os.File (cgo; " +
				"where ISA-L runs, levels 1 to 3 are ISA-L's), the same with Threads: runtime.NumCPU() (" +
				strconv.Itoa(threads) + "), klauspost/compress/gzip, klauspost/pgzip on " + threadsText(threads) +
				" (1 MiB blocks) and Go's compress/gzip (io.Copy from the file into a gzip.Writer over a 64 KiB " +
				"bufio.Writer), kp_gzip -bare -l L (a plain C zlib loop, windowBits 31), and the programs " +
				"gzip -L -n -c, pigz -L -n -p " + strconv.Itoa(threads) + " -c, igzip -L -n -c (ISA-L, levels 1 to 3) " +
				"and libdeflate-gzip -L -n -c, the input file as their standard input. The sample keeps the sweep " +
				"short (zlib's level 9 runs near 12 MB/s) while it spans the whole tar. MB/s count the uncompressed " +
				"bytes. CPU is the process's own (every thread) for the in-process peers and the child's for the " +
				"programs. The size ratio is uncompressed / compressed size. Each output is checked to decode to " +
				"the input, outside the timed part; each run overwrites the case's output file in place. Levels " +
				strconv.Itoa(sweepSlowLevel) + " to 9 run at most " + strconv.Itoa(sweepSlowRuns) + " times (the Runs " +
				"column), but for klauspost/compress and pgzip, the curves the tables below set kpipe against. " +
				"The chart draws MB/s against size ratio, a line per peer through its levels: up and right is better.",
			Metrics: []Metric{Throughput, CPUPerGiB, SizeRatio},
			Curves: &Curves{Point: "Level", EqualRatio: []EqualRatio{
				{Series: series(sweepKpipe), Against: series(sweepKlauspost)},
				{Series: series(sweepKpipeThreads), Against: series(sweepPgzip)},
			}},
			Groups: []Group{newCompressGroup(cfg, sweepIn, cases, false).group("")},
		},
		{
			Name: "Gunzip",
			About: "Decompressing the gzip -6 -n form of " + gunzipIn.about + ", file to file in memory " +
				"(tmpfs): kpipe.Gunzip (cgo), kp_gzip -d (kpipe's C loop alone, no Go), kp_gzip -d -bare " +
				"(a plain C zlib loop), compress/gzip and klauspost/compress/gzip (io.Copy from a gzip.Reader " +
				"on the file), and the programs gzip -d -c, pigz -d -c, igzip -d -c (ISA-L) and " +
				"libdeflate-gunzip -c, the input file as their standard input (libdeflate works on whole " +
				"buffers: its program reads all of the input, then writes all of the output). MB/s count the " +
				"uncompressed bytes. Each peer's output is checked to be the input, outside the timed part.",
			Metrics: []Metric{Throughput, CPUPerGiB},
			Groups:  []Group{newCompressGroup(cfg, gunzipIn, compressCases(bench.GunzipMethods(kpGzip)), true).group(compressBaseline)},
		},
	}
}

// sweepCases returns the cases of the Gzip levels section: each peer of
// bench.GzipLevelMethods at each of its levels, a peer's levels one after
// another, in the order of the peers at level 1.
func sweepCases(threads int, kpGzip func() (string, error)) []compressCase {
	var order []string
	byName := map[string][]compressCase{}
	for level := sweepMinLevel; level <= sweepMaxLevel; level++ {
		for _, m := range bench.GzipLevelMethods(level, threads, kpGzip) {
			if _, seen := byName[m.Name]; !seen {
				order = append(order, m.Name)
			}
			c := compressCase{
				m:      m,
				peer:   fmt.Sprintf("%s, level %d", m.Peer, level),
				series: m.Peer,
				point:  strconv.Itoa(level),
				file:   fmt.Sprintf("%s-%d", m.Name, level),
			}
			if level >= sweepSlowLevel && m.Name != sweepKlauspost && m.Name != sweepPgzip {
				c.maxRuns = sweepSlowRuns
			}
			byName[m.Name] = append(byName[m.Name], c)
		}
	}
	var cases []compressCase
	for _, name := range order {
		cases = append(cases, byName[name]...)
	}
	return cases
}

// threadsText returns "1 thread" or "N threads".
func threadsText(n int) string {
	if n == 1 {
		return "1 thread"
	}
	return strconv.Itoa(n) + " threads"
}
