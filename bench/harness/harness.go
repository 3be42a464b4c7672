// Package harness is kpipe's benchmark harness: it measures kpipe and its
// peers side by side (file copy, TCP proxy, echo, HTTP handlers,
// compression, cgo overhead), several runs each, and reports medians,
// spreads and ratios as Markdown and as an SVG chart. The kpipe-bench
// command (bench/cmd/kpipe-bench) runs it; `make bench` runs that command on
// built-in data.
//
// The harness is organised as Sections (one table of the report each), made
// of Groups (one setting, such as a file size or a number of connections,
// whose Cases run side by side), made of Cases (one peer at that setting).
// The runner interleaves the runs of a group's cases (run 1 of every case,
// then run 2 of every case, ...) so that a ratio compares figures taken at the
// same moment, and computes every ratio inside one run before taking medians.
package harness

import (
	"context"
	"time"
)

// A Sample is what one run of a case measured.
type Sample struct {
	Bytes   int64         // payload bytes moved (0 if not a transfer)
	Elapsed time.Duration // wall-clock time of the run
	CPU     time.Duration // CPU time of the party under test; 0 if not measured
	Ops     int64         // operations done (round trips, calls); 0 if not counted
	Out     int64         // bytes written when they differ from Bytes (compressed size); 0 otherwise
	Calls   int64         // system calls of the party under test during the run; 0 if not counted
	IOCalls int64         // of which splice(2) and io_uring_enter(2) calls
	FDs     float64       // descriptors the party under test holds per idle connection; 0 if not counted
}

// CallsPerGiB returns the system calls made per GiB moved.
func (s Sample) CallsPerGiB() float64 {
	if s.Bytes <= 0 {
		return 0
	}
	return float64(s.Calls) / (float64(s.Bytes) / (1 << 30))
}

// IOCallsPerGiB returns the splice and io_uring_enter calls made per GiB
// moved.
func (s Sample) IOCallsPerGiB() float64 {
	if s.Bytes <= 0 {
		return 0
	}
	return float64(s.IOCalls) / (float64(s.Bytes) / (1 << 30))
}

// MBps returns the sample's throughput in decimal megabytes per second.
func (s Sample) MBps() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Bytes) / 1e6 / s.Elapsed.Seconds()
}

// CPUPerGiB returns the CPU seconds the party under test spent per GiB moved.
func (s Sample) CPUPerGiB() float64 {
	if s.Bytes <= 0 {
		return 0
	}
	return s.CPU.Seconds() / (float64(s.Bytes) / (1 << 30))
}

// CPUPerOp returns the CPU milliseconds the party under test spent per
// operation.
func (s Sample) CPUPerOp() float64 {
	if s.Ops <= 0 {
		return 0
	}
	return s.CPU.Seconds() * 1000 / float64(s.Ops)
}

// OpsPerSec returns the operations done per second of wall-clock time.
func (s Sample) OpsPerSec() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Ops) / s.Elapsed.Seconds()
}

// SizeRatio returns Bytes/Out: the compression ratio of a compressor's
// sample (uncompressed size over compressed size), 0 without Out.
func (s Sample) SizeRatio() float64 {
	if s.Out <= 0 {
		return 0
	}
	return float64(s.Bytes) / float64(s.Out)
}

// NsPerOp returns the wall-clock nanoseconds per operation.
func (s Sample) NsPerOp() float64 {
	if s.Ops <= 0 {
		return 0
	}
	return float64(s.Elapsed.Nanoseconds()) / float64(s.Ops)
}

// A Case is one peer measured at one setting.
type Case struct {
	// Peer names what is measured, e.g. "kpipe.Copy" or "io.Copy".
	Peer string
	// Series and Point place the case on a curve in a section with Curves:
	// Series names the curve (a peer at each of its levels, e.g.
	// "compress/gzip") and Point the case's place on it (e.g. "6", its
	// level). Other sections leave them empty.
	Series, Point string
	// Skip, when not empty, says why the case cannot run here (a program
	// that is not installed, for instance); the report shows the reason.
	Skip string
	// MaxRuns, when > 0, caps the case's runs below Options.Runs, for a
	// slow case. Its runs are the group's first ones, so that its run i
	// still sits beside run i of the other cases.
	MaxRuns int
	// Run performs one measured run. It must leave the machine as it found
	// it (no files, processes or fds left behind) and return promptly once
	// ctx is done.
	Run func(ctx context.Context) (Sample, error)
}

// A Group is the cases that run side by side at one setting.
type Group struct {
	// Setting names the setting, e.g. "7 MB" or "16 connections".
	Setting string
	// Baseline is the Peer whose figures the ratio column divides by.
	Baseline string
	// Setup, if not nil, runs once before the group's first run (to make
	// input files or start servers); Teardown, if not nil, runs once after
	// its last, even when a run failed.
	Setup    func(ctx context.Context) error
	Teardown func()
	Cases    []Case
}

// A Metric is a figure computed from a Sample.
type Metric int

// The metrics a section can report.
const (
	Throughput    Metric = iota // MB/s, higher is better
	CPUPerGiB                   // CPU seconds per GiB, lower is better
	OpsPerSec                   // operations per second, higher is better
	NsPerOp                     // nanoseconds per operation, lower is better
	SizeRatio                   // uncompressed size / compressed size, higher is better
	CallsPerGiB                 // system calls per GiB, lower is better
	IOCallsPerGiB               // splice and io_uring_enter calls per GiB, lower is better
	FDsPerConn                  // descriptors per idle connection, lower is better
	CPUPerOp                    // CPU milliseconds per operation, lower is better
)

// metricDefs holds, by Metric, its unit as the report's column header shows
// it, its value for a sample, and whether a larger value is better.
var metricDefs = [...]struct {
	unit   string
	value  func(Sample) float64
	higher bool
}{
	Throughput:    {"MB/s", Sample.MBps, true},
	CPUPerGiB:     {"CPU s/GiB", Sample.CPUPerGiB, false},
	OpsPerSec:     {"ops/s", Sample.OpsPerSec, true},
	NsPerOp:       {"ns/op", Sample.NsPerOp, false},
	SizeRatio:     {"size ratio", Sample.SizeRatio, true},
	CallsPerGiB:   {"syscalls/GiB", Sample.CallsPerGiB, false},
	IOCallsPerGiB: {"splice+io_uring_enter/GiB", Sample.IOCallsPerGiB, false},
	FDsPerConn:    {"fds per idle conn", func(s Sample) float64 { return s.FDs }, false},
	CPUPerOp:      {"CPU ms/op", Sample.CPUPerOp, false},
}

// known reports whether m is one of the metrics above.
func (m Metric) known() bool { return m >= 0 && int(m) < len(metricDefs) }

// Value returns the metric's value for s.
func (m Metric) Value(s Sample) float64 {
	if !m.known() {
		return 0
	}
	return metricDefs[m].value(s)
}

// Unit returns the metric's unit as the report's column header shows it.
func (m Metric) Unit() string {
	if !m.known() {
		return "?"
	}
	return metricDefs[m].unit
}

// HigherIsBetter reports whether a larger value of the metric is better.
func (m Metric) HigherIsBetter() bool { return m.known() && metricDefs[m].higher }

// A Section is one table of the report.
type Section struct {
	Name  string // e.g. "File copy"
	About string // what is measured and how, one paragraph of Markdown
	// Metrics are the columns, in order; the first is the one the ratio
	// column ("how much faster" than the baseline) and the chart use.
	Metrics []Metric
	Groups  []Group
	// Curves, if not nil, makes the section a sweep: its cases are points
	// of curves (Case.Series and Case.Point), which the chart draws as
	// throughput against size ratio, and the report adds the tables that
	// Curves asks for.
	Curves *Curves
}

// Curves describes a section whose cases are points of curves, such as
// compressors at each of their levels: the chart draws a line per series
// through its points, throughput (y) against size ratio (x), and the report
// adds a table per EqualRatio and per AgainstBaseline. Its Metrics should
// include Throughput, CPUPerGiB and SizeRatio (OpsPerSec and CPUPerOp
// rather than CPUPerGiB with PerOp).
type Curves struct {
	// Point names what a case's Point is, as a column heading: "Level".
	Point string
	// PerOp makes the tables set operations side by side: ops/s and CPU
	// ms/op in place of MB/s and CPU s/GiB (the same comparison when every
	// operation carries the same bytes, as a response of a fixed size
	// does).
	PerOp bool
	// EqualRatio lists the tables that set a series against another at
	// equal size ratio.
	EqualRatio []EqualRatio
	// AgainstBaseline lists series whose points a table sets against the
	// group's baseline plainly, whatever its size ratio: both sides'
	// figures, and the speed and CPU ratios run by run.
	AgainstBaseline []string
}

// speedCost returns the metrics the tables of c set side by side: the
// speed (MB/s, or ops/s with PerOp) and the CPU cost (s/GiB, or ms/op).
func (c *Curves) speedCost() (speed, cost Metric) {
	if c != nil && c.PerOp {
		return OpsPerSec, CPUPerOp
	}
	return Throughput, CPUPerGiB
}

// An EqualRatio asks for a table that sets each point of the series Series
// against the curve of the series Against at the same size ratio: Against's
// speed and CPU (MB/s and CPU s/GiB, see Curves.PerOp) are interpolated on
// its curve (its points sorted by size ratio) at the point's ratio, run by
// run, and the table gives the speed ratio Series / Against and the CPU
// ratio Against / Series.
type EqualRatio struct {
	Series, Against string
}

// Config is what every section needs to know about the run.
type Config struct {
	// Quick asks for small sizes and few settings: a smoke test of the
	// whole harness that ends in under two minutes.
	Quick bool
	// Dir is the work directory for input and output files. It should be
	// in memory (tmpfs) so that files measure the code and not a disk.
	Dir string
	// CBinDir is the directory that holds the pure C programs built by
	// CMake (kp_splice_copy, kp_rw_copy, kp_gzip). Empty, or a program
	// missing there, skips the peers that need it, with the reason.
	CBinDir string
	// Self is the path of the running executable; sections run it again
	// as a child process (see RegisterChild) to measure a server's CPU
	// apart from the load that drives it.
	Self string
}
