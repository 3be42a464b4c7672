package harness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// assertEmptyDir fails t unless dir holds no file.
func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("%s left behind", filepath.Join(dir, e.Name()))
	}
}

// runFileCopy runs the file copy section at sizes, once, with cfg, and
// checks that every case that ran copied the right number of bytes.
func runFileCopy(t *testing.T, cfg Config, sizes []int64) SectionResult {
	t.Helper()
	res, err := Run(context.Background(), []Section{fileCopySection(cfg, sizes)}, Options{Runs: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || len(res[0].Groups) != len(sizes) {
		t.Fatalf("got %d sections, want 1 with %d groups", len(res), len(sizes))
	}
	for i, g := range res[0].Groups {
		if g.Err != nil {
			t.Fatalf("%s: setup: %v", g.Setting, g.Err)
		}
		if g.Setting != decimalSize(sizes[i]) {
			t.Errorf("group %d is %q, want %q", i, g.Setting, decimalSize(sizes[i]))
		}
		if len(g.Rows) != len(fileCopyPeers) {
			t.Fatalf("%s: %d rows, want %d", g.Setting, len(g.Rows), len(fileCopyPeers))
		}
		for _, r := range g.Rows {
			s, ok := sampleOf(t, g.Setting, r)
			if !ok {
				continue
			}
			if s.Bytes != sizes[i] || s.Elapsed <= 0 || s.CPU < 0 {
				t.Errorf("%s %s: sample %+v, want %d bytes in a positive time", g.Setting, r.Peer, s, sizes[i])
			}
			t.Logf("%s %-20s %8.1f MB/s %6.2f CPU s/GiB", g.Setting, r.Peer, s.MBps(), s.CPUPerGiB())
		}
	}
	assertEmptyDir(t, cfg.Dir)
	return res[0]
}

// skipOf returns the Skip of peer's row in every group of sr.
func skipOf(sr SectionResult, peer string) []string {
	var out []string
	for _, g := range sr.Groups {
		if r, ok := g.Row(peer); ok {
			out = append(out, r.Skip)
		}
	}
	return out
}

// TestFileCopySection copies a file of 1 MB and one that is not a whole
// number of 1 MiB blocks with every peer. With KPIPE_CBIN set to the
// directory of the C programs, the C peer must run too; without, it must
// be skipped with a reason.
func TestFileCopySection(t *testing.T) {
	cbin := os.Getenv("KPIPE_CBIN")
	cfg := Config{Dir: memTestDir(t), CBinDir: cbin}
	sr := runFileCopy(t, cfg, []int64{1e6, 1<<20 + 4097})
	for _, skip := range skipOf(sr, "C splice loop") {
		if cbin != "" && skip != "" {
			t.Errorf("C splice loop skipped with KPIPE_CBIN=%s: %s", cbin, skip)
		}
		if cbin == "" && !strings.Contains(skip, "CBinDir is empty") {
			t.Errorf("C splice loop without CBinDir: skip %q, want the reason", skip)
		}
	}
	for _, peer := range []string{"read/write 32 KiB", "io.Copy", "kpipe.Copy", "kpipe.Splice loop", "kpipe.DoubleSplice"} {
		for _, skip := range skipOf(sr, peer) {
			if skip != "" {
				t.Errorf("%s skipped: %s", peer, skip)
			}
		}
	}
}

// TestFileCopyMissingProgram checks that a CBinDir without kp_splice_copy
// skips the C peer with a reason that names the program.
func TestFileCopyMissingProgram(t *testing.T) {
	cfg := Config{Dir: memTestDir(t), CBinDir: t.TempDir()}
	sec := fileCopySection(cfg, []int64{1e3})
	for _, c := range sec.Groups[0].Cases {
		if c.Peer == "C splice loop" && !strings.Contains(c.Skip, "kp_splice_copy") {
			t.Errorf("skip %q does not name kp_splice_copy", c.Skip)
		}
		if c.Skip == "" && c.Run == nil {
			t.Errorf("%s: neither skipped nor runnable", c.Peer)
		}
	}
}

// TestFileCopyCheckCatchesCorruption makes an input, puts a wrong output of
// the right size beside it and checks that the content check fails, that
// the size check alone passes, and that the output is removed either way.
func TestFileCopyCheckCatchesCorruption(t *testing.T) {
	dir := memTestDir(t)
	f := &fileCopyFiles{dir: dir, src: filepath.Join(dir, "in"), dst: filepath.Join(dir, "out"), size: 3e5}
	if err := f.make(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer f.remove()
	if err := os.WriteFile(f.dst, make([]byte, f.size), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := f.check(f.size, true); err == nil || !strings.Contains(err.Error(), "differs") {
		t.Errorf("check of a zeroed output: %v, want a content error", err)
	}
	if _, err := os.Stat(f.dst); !os.IsNotExist(err) {
		t.Errorf("output still there after a failed check: %v", err)
	}
	if err := os.WriteFile(f.dst, make([]byte, f.size), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := f.check(f.size, false); err != nil {
		t.Errorf("size-only check of a right-sized output: %v", err)
	}
	if err := f.check(f.size-1, false); err == nil {
		t.Error("check with a short count passed")
	}
}

// TestDecimalSize checks the group names.
func TestDecimalSize(t *testing.T) {
	for n, want := range map[int64]string{7e6: "7 MB", 1e9: "1 GB", 3e5: "300 kB", 1<<20 + 4097: "1052673 B"} {
		if got := decimalSize(n); got != want {
			t.Errorf("decimalSize(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestFileCopySetupCancelled checks that a cancelled Setup fails and that
// Teardown leaves nothing behind.
func TestFileCopySetupCancelled(t *testing.T) {
	dir := memTestDir(t)
	g := fileCopyGroup(Config{Dir: dir}, 5e6)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.Setup(ctx); err == nil {
		t.Error("setup with a cancelled context succeeded")
	}
	g.Teardown()
	assertEmptyDir(t, dir)
	if err := fileCopyGroup(Config{}, 1e3).Setup(context.Background()); err == nil {
		t.Error("setup without Config.Dir succeeded")
	}
}

// TestFileCopyRegistered checks the sizes of a quick and a full run and the
// registered order of the section.
func TestFileCopyRegistered(t *testing.T) {
	for _, tc := range []struct {
		quick bool
		want  []string
	}{{true, []string{"7 MB", "50 MB"}}, {false, []string{"7 MB", "200 MB", "1 GB"}}} {
		secs := FileCopySections(Config{Quick: tc.quick, Dir: memTestDir(t)})
		if len(secs) != 1 || len(secs[0].Groups) != len(tc.want) {
			t.Fatalf("quick=%v: %d sections", tc.quick, len(secs))
		}
		for i, g := range secs[0].Groups {
			if g.Setting != tc.want[i] || g.Baseline != "read/write 32 KiB" {
				t.Errorf("quick=%v group %d: %q baseline %q", tc.quick, i, g.Setting, g.Baseline)
			}
		}
		if m := secs[0].Metrics; len(m) != 2 || m[0] != Throughput || m[1] != CPUPerGiB {
			t.Errorf("metrics %v", m)
		}
	}
	found := false
	for _, m := range makers {
		if m.order != 10 {
			continue
		}
		if secs := m.make(Config{Quick: true}); len(secs) == 1 && secs[0].Name == "File copy" {
			found = true
		}
	}
	if !found {
		t.Error("file copy is not registered with order 10")
	}
}

// TestFileCopyFigures logs the medians and ratios of three runs of the file
// copy at 7 MB, and of the cgo overhead section, for a look at the figures.
// It runs only with KPIPE_HARNESS_FIGURES=1 (and KPIPE_CBIN for the C peer).
func TestFileCopyFigures(t *testing.T) {
	if os.Getenv("KPIPE_HARNESS_FIGURES") == "" {
		t.Skip("set KPIPE_HARNESS_FIGURES=1 to measure")
	}
	cfg := Config{Dir: memTestDir(t), CBinDir: os.Getenv("KPIPE_CBIN")}
	secs := []Section{fileCopySection(cfg, []int64{7e6}), cgoSection(cgoOps)}
	res, err := Run(context.Background(), secs, Options{Runs: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, sr := range res {
		for _, g := range sr.Groups {
			for _, r := range g.Rows {
				if r.Skip != "" || r.Err != nil {
					t.Logf("%s | %s | %s: skip %q, error %v", sr.Name, g.Setting, r.Peer, r.Skip, r.Err)
					continue
				}
				line := fmt.Sprintf("%s | %s | %-26s", sr.Name, g.Setting, r.Peer)
				for _, m := range sr.Metrics {
					s := r.Summary(m)
					line += fmt.Sprintf(" | %.1f %s (%.1f-%.1f)", s.Median, m.Unit(), s.Min, s.Max)
				}
				if q, ok := g.Ratio(r.Peer, sr.Metrics[0]); ok {
					line += fmt.Sprintf(" | %.2fx", q.Median)
				}
				t.Log(line)
			}
		}
	}
	assertEmptyDir(t, cfg.Dir)
}
