package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/kpipe/kpipe/bench"
	"golang.org/x/sys/unix"
)

// compressGroup is the state of one compression group between its Setup
// and its Teardown: the input file, open, and every peer's output file.
type compressGroup struct {
	cfg        Config
	in         compressInput
	cases      []compressCase
	skips      []string // per case: why it cannot run here, or ""
	decompress bool     // Gunzip (input is the gzip form) rather than Gzip

	files   compressFiles
	want    bench.Digest // the uncompressed data, what outputs are checked against
	src     *os.File
	outputs []*compressOutput // per case; nil for a skipped one
}

// A compressCase is a method of a compression group as the report shows
// it.
type compressCase struct {
	m       bench.Method
	peer    string // the Case's Peer
	series  string // its Series and Point, in a sweep
	point   string
	file    string // names the case's output file, unique in the group
	maxRuns int    // its MaxRuns
}

// compressCases returns the cases of methods, each its own peer.
func compressCases(methods []bench.Method) []compressCase {
	cases := make([]compressCase, len(methods))
	for i, m := range methods {
		cases[i] = compressCase{m: m, peer: m.Peer, file: m.Name}
	}
	return cases
}

// compressOutput is a peer's output file, overwritten by each run.
type compressOutput struct {
	path     string
	f        *os.File
	verified bool // the output has been checked once in this group's runs
}

// newCompressGroup returns the group of cases on in; decompress makes it a
// Gunzip group. The methods' programs are looked for now, so that a peer
// whose program is missing is skipped with the reason.
func newCompressGroup(cfg Config, in compressInput, cases []compressCase, decompress bool) *compressGroup {
	g := &compressGroup{cfg: cfg, in: in, cases: cases, decompress: decompress, skips: make([]string, len(cases))}
	for i, c := range cases {
		if c.m.Needs == nil {
			continue
		}
		if _, err := c.m.Needs(); err != nil {
			g.skips[i] = err.Error()
		}
	}
	return g
}

// group returns the harness Group that runs g, whose ratios divide by
// baseline ("" for none).
func (g *compressGroup) group(baseline string) Group {
	gr := Group{Setting: g.in.setting, Baseline: baseline, Setup: g.setup, Teardown: g.teardown}
	for i, c := range g.cases {
		gr.Cases = append(gr.Cases, Case{Peer: c.peer, Series: c.series, Point: c.point, Skip: g.skips[i], MaxRuns: c.maxRuns,
			Run: func(ctx context.Context) (Sample, error) { return g.run(ctx, i) }})
	}
	return gr
}

// name returns the word that names g's files: "gzip" or "gunzip".
func (g *compressGroup) name() string {
	if g.decompress {
		return "gunzip"
	}
	return "gzip"
}

// setup makes the input, reads it once (so that its pages are warm),
// opens it and makes every peer's output file. On error teardown cleans
// up what was made.
func (g *compressGroup) setup(ctx context.Context) error {
	if g.cfg.Dir == "" {
		return errors.New("compression: no work directory (Config.Dir)")
	}
	g.outputs = make([]*compressOutput, len(g.cases))
	files, err := g.in.make(ctx, g.cfg.Dir, g.name(), g.decompress)
	g.files = files
	if err != nil {
		return fmt.Errorf("compression input: %w", err)
	}
	if g.want, err = bench.DigestFile(files.raw); err != nil {
		return fmt.Errorf("compression input: %w", err)
	}
	srcPath := files.raw
	if g.decompress {
		srcPath = files.gz
		if err := compressWarm(srcPath); err != nil {
			return err
		}
	}
	if g.src, err = os.Open(srcPath); err != nil {
		return fmt.Errorf("compression input: %w", err)
	}
	// A gzip output is about a quarter of the tar; half is room enough.
	prealloc := g.want.Size
	if !g.decompress {
		prealloc /= 2
	}
	for i, c := range g.cases {
		if g.skips[i] != "" {
			continue
		}
		path := filepath.Join(g.cfg.Dir, fmt.Sprintf("%s-out-%s", g.name(), c.file))
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return fmt.Errorf("%s output: %w", c.peer, err)
		}
		g.outputs[i] = &compressOutput{path: path, f: f}
		if err := compressPrealloc(f, prealloc); err != nil {
			return fmt.Errorf("%s output: %w", c.peer, err)
		}
	}
	return nil
}

// teardown closes and removes every file setup made.
func (g *compressGroup) teardown() {
	if g.src != nil {
		g.src.Close()
		g.src = nil
	}
	for _, o := range g.outputs {
		if o != nil {
			o.f.Close()
			os.Remove(o.path)
		}
	}
	g.outputs = nil
	for _, path := range g.files.made {
		os.Remove(path)
	}
	g.files = compressFiles{}
}

// run does one run of case i: it times the method alone, then cuts its
// output to size and, the first time, checks it.
func (g *compressGroup) run(ctx context.Context, i int) (Sample, error) {
	m, peer, out := g.cases[i].m, g.cases[i].peer, g.outputs[i]
	if out == nil || g.src == nil {
		return Sample{}, fmt.Errorf("%s: group not set up", peer)
	}
	if err := bench.Rewind(out.f, g.src); err != nil {
		return Sample{}, err
	}
	cpu0 := selfCPU()
	start := time.Now()
	childCPU, err := m.Run(ctx, out.f, g.src)
	elapsed := time.Since(start)
	cpu := selfCPU() - cpu0
	if m.Program {
		cpu = childCPU
	}
	if err != nil {
		return Sample{}, fmt.Errorf("%s: %w", peer, err)
	}
	n, err := bench.CutOutput(out.f)
	if err != nil {
		return Sample{}, fmt.Errorf("%s: %w", peer, err)
	}
	if !out.verified {
		verify := bench.VerifyGzip
		if g.decompress {
			verify = bench.VerifyGunzip
		}
		if err := verify(out.path, g.want); err != nil {
			return Sample{}, fmt.Errorf("%s: wrong output: %w", peer, err)
		}
		out.verified = true
	}
	s := Sample{Bytes: g.want.Size, Elapsed: elapsed, CPU: cpu}
	if !g.decompress {
		s.Out = n
	}
	return s, nil
}

// compressWarm reads the file at path once, so that its pages are in
// memory and touched before a timed run reads them.
func compressWarm(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("warming %s: %w", path, err)
	}
	defer f.Close()
	if _, err := io.Copy(io.Discard, f); err != nil {
		return fmt.Errorf("warming %s: %w", path, err)
	}
	return nil
}

// compressPrealloc allocates size bytes of f's blocks, so that the first
// timed run overwrites pages that exist, as the later runs do, instead of
// paying for their allocation. A file system without fallocate is left as
// it is.
func compressPrealloc(f *os.File, size int64) error {
	if size <= 0 {
		return nil
	}
	err := unix.Fallocate(int(f.Fd()), 0, 0, size)
	if err != nil && !errors.Is(err, unix.EOPNOTSUPP) {
		return fmt.Errorf("fallocate %s: %w", f.Name(), err)
	}
	return nil
}
